/**
 * Load shedding: at most `limit` JSON requests (predictions, feedback, the other protocols) in
 * progress at once in this process. One more is answered 503 with Retry-After at once, so an
 * overloaded instance stays fast for the requests it admits and callers (or the load balancer) retry
 * elsewhere, instead of every request waiting in a queue that grows until clients time out.
 *
 * Counted from admission until the response closes (finished or aborted), so a slow upload holds its
 * slot too, bounded by REQUEST_TIMEOUT_MS. Probes and /metrics are never limited: they must answer
 * while the limit sheds.
 */
import type { ServerResponse } from 'node:http';
import type { Metrics } from '../observability/metrics.js';
import { sendProblem } from './problem.js';

/** Seconds a shed client should wait: one is enough for a queue of millisecond requests to clear. */
export const SHED_RETRY_AFTER_SECONDS = '1';

/**
 * True when the request may proceed; false when it was answered 503 (shed), after `beforeShed` (which sets
 * the headers every answer carries).
 */
export type Admission = (res: ServerResponse, beforeShed?: () => void) => boolean;

/** `limit` 0 = never shed (requests are still counted for http_requests_in_flight). */
export function inFlightLimit(limit: number, metrics: Pick<Metrics, 'requestsShed' | 'setInFlightSource'>): Admission {
  let inFlight = 0;
  metrics.setInFlightSource(() => inFlight);
  // why: one shared listener, not a closure per request: this runs on every prediction.
  const release = (): void => {
    inFlight--;
  };
  const detail = `the limit of ${limit} request${limit === 1 ? '' : 's'} in progress is reached; retry in ${SHED_RETRY_AFTER_SECONDS} s`;

  return (res, beforeShed) => {
    if (limit > 0 && inFlight >= limit) {
      metrics.requestsShed.inc();
      beforeShed?.();
      res.setHeader('Retry-After', SHED_RETRY_AFTER_SECONDS);
      sendProblem(res, 'overloaded', detail);
      return false;
    }
    inFlight++;
    // why: `on`, not `once`: a response closes once, and once's wrapper and removal cost ≈ 0.5 µs a request.
    res.on('close', release);
    return true;
  };
}
