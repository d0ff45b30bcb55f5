/**
 * The consumer's only HTTP surface, on METRICS_PORT: GET /metrics (Prometheus), /healthz (liveness:
 * the process answers) and /readyz (a model serves, Redis is connected, the group exists, not
 * stopping). No Express: three fixed GET routes need none.
 */
import { createServer, type Server } from 'node:http';
import type { MetricsSource } from '../observability/metrics.js';

export interface Readiness {
  /** undefined = ready; otherwise why not. */
  notReadyReason(): string | undefined;
  /** The served model's `<name>/<version>`, for the ready answer. */
  modelVersion(): string | undefined;
}

export function createProbeServer(metrics: MetricsSource, readiness: Readiness): Server {
  return createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json; charset=utf-8') => {
      res.statusCode = status;
      res.setHeader('Content-Type', type);
      res.setHeader('Cache-Control', 'no-store');
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      send(404, JSON.stringify({ status: 'not_found', reason: `no route ${path}; try /metrics, /healthz or /readyz` }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(405, JSON.stringify({ status: 'method_not_allowed', reason: `${path} answers GET and HEAD` }));
      return;
    }
    if (path === '/healthz') {
      send(200, '{"status":"ok"}');
    } else if (path === '/readyz') {
      const reason = readiness.notReadyReason();
      if (reason === undefined) send(200, JSON.stringify({ status: 'ready', model_version: readiness.modelVersion() }));
      else {
        res.setHeader('Retry-After', '1');
        send(503, JSON.stringify({ status: 'not_ready', reason }));
      }
    } else {
      metrics.metrics().then(
        (text) => send(200, text, metrics.contentType),
        (err: unknown) => send(500, JSON.stringify({ status: 'error', reason: `metrics collection failed: ${(err as Error).message}` })),
      );
    }
  });
}
