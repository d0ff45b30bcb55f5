/**
 * Per-request bookkeeping, done once when the response closes: the request id (taken from
 * X-Request-ID or generated, echoed back), one log line, and the http_request_duration_seconds sample.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

// why: the id is echoed in a header and written to logs, so only short, printable ids are reused.
const VALID_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;
/** Probes run every few seconds per replica; at info level they would drown the request log. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export function requestContext(logger: Logger, metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.locals.startedAt = started;
    res.setHeader('X-Request-ID', requestId);

    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      // why: the route pattern, never the raw path, so a scan of random URLs cannot create label series.
      const route: string = req.route?.path ?? 'unmatched';
      const status = res.statusCode;
      const aborted = !res.writableFinished;
      metrics.httpChild(req.method, route, status).observe(seconds);
      const level = PROBES.has(route) && status < 500 && !aborted ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req_id: requestId,
          method: req.method,
          route,
          path: route === 'unmatched' ? req.originalUrl.slice(0, 200) : undefined,
          status,
          latency_ms: Math.round(seconds * 1e6) / 1000,
          model_version: res.locals.modelVersion,
          aborted: aborted || undefined,
        },
        'request',
      );
    });
    next();
  };
}
