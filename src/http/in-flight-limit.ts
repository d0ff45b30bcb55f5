/**
 * Load shedding: at most `limit` prediction requests in progress at once in this process. One more is
 * answered 503 with Retry-After at once, so an overloaded instance stays fast for the requests it
 * admits and callers (or the load balancer) retry elsewhere, instead of every request waiting in a
 * queue that grows until clients time out.
 *
 * Counted from admission until the response closes (finished or aborted), so a slow upload holds its
 * slot too, bounded by REQUEST_TIMEOUT_MS. Mounted on /predict only: probes and /metrics must answer
 * while the limit sheds.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../observability/metrics.js';
import { sendProblem } from './problem.js';

/** Seconds a shed client should wait: one is enough for a queue of millisecond requests to clear. */
export const SHED_RETRY_AFTER_SECONDS = '1';

/** `limit` 0 = never shed (requests are still counted for http_requests_in_flight). */
export function inFlightLimit(limit: number, metrics: Pick<Metrics, 'requestsShed' | 'setInFlightSource'>) {
  let inFlight = 0;
  metrics.setInFlightSource(() => inFlight);
  // why: one shared listener, not a closure per request: this runs on every prediction (issue 5).
  const release = (): void => {
    inFlight--;
  };
  const detail = `more than ${limit} requests are in progress; retry in ${SHED_RETRY_AFTER_SECONDS} s`;

  return (_req: Request, res: Response, next: NextFunction): void => {
    if (limit > 0 && inFlight >= limit) {
      metrics.requestsShed.inc();
      res.setHeader('Retry-After', SHED_RETRY_AFTER_SECONDS);
      sendProblem(res, 'overloaded', detail);
      return;
    }
    inFlight++;
    res.once('close', release);
    next();
  };
}
