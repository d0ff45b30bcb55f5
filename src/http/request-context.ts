/**
 * Per-request bookkeeping, done once when the response closes: the request id (taken from
 * X-Request-ID or generated; the caller echoes it back, app.ts), one log line, and the
 * http_request_duration_seconds sample.
 *
 * The context travels on the node response object itself, so the fast JSON routes (http/router.ts)
 * and Express's routes read and write the same record with the same types.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestLineWriter, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ErrorStyle } from './problem.js';
import type { RequestTrace, RequestTracer } from '../observability/tracing.js';

export interface RequestContext {
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** The route pattern that served it (a metric label); set by the router, or read from Express at close. */
  route: string | undefined;
  /** The model version that answered, for the log line. */
  modelVersion: string | undefined;
  /** Errors in a protocol's own format instead of problem+json (problem.ts); undefined for our routes. */
  errorStyle?: ErrorStyle;
  /** The fields a 4xx named (at most the listed ones), for the log line: what clients get wrong. */
  invalidFields?: readonly string[];
  /** The W3C trace id, when the caller sent one or tracing is on; in every log line of the request. */
  readonly traceId?: string;
}

const CONTEXT = Symbol('requestContext');
const TRACE = Symbol('requestTrace');
type WithContext = ServerResponse & { [CONTEXT]?: RequestContext; [TRACE]?: RequestTrace };

/** The context the request's `BeginRequest` (requestContext) attached to this response, if any. */
export function contextOf(res: ServerResponse): RequestContext | undefined {
  return (res as WithContext)[CONTEXT];
}

// why: the id is echoed in a header and written to logs, so only short, printable ids are reused.
const VALID_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;
/** Probes run every few seconds per replica; at info level they would drown the request log. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Starts the bookkeeping of one request: returns its context, and logs and measures it when it closes. */
export type BeginRequest = (req: IncomingMessage, res: ServerResponse) => RequestContext;

export function requestContext(logger: Logger, metrics: Metrics, tracer?: RequestTracer): BeginRequest {
  const writeLine = requestLineWriter(logger);
  // why: one listener shared by every response (it reads the request from `this`), not a closure per request.
  function onClose(this: WithContext): void {
    const ctx = this[CONTEXT]!;
    const req = this.req;
    const seconds = (performance.now() - ctx.startedAt) / 1000;
    // why: the route pattern, never the raw path, so a scan of random URLs cannot create label series.
    const route: string = ctx.route ?? (req as { route?: { path?: string } }).route?.path ?? 'unmatched';
    const status = this.statusCode;
    const aborted = !this.writableFinished;
    metrics.httpChild(req.method ?? '', route, status).observe(seconds);
    this[TRACE]?.end({ method: req.method ?? '', route, status, aborted, modelVersion: ctx.modelVersion });
    const level = PROBES.has(route) && status < 500 && !aborted ? 'debug' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    writeLine(level, {
      req_id: ctx.requestId,
      trace_id: ctx.traceId,
      method: req.method,
      route,
      path: route === 'unmatched' ? (req.url ?? '').slice(0, 200) : undefined,
      status,
      latency_ms: Math.round(seconds * 1e6) / 1000,
      model_version: ctx.modelVersion,
      invalid_fields: ctx.invalidFields,
      aborted: aborted || undefined,
    });
  }
  return (req, res) => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const trace = tracer?.begin(req, res);
    const ctx: RequestContext = {
      requestId,
      startedAt: started,
      route: undefined,
      modelVersion: undefined,
      errorStyle: undefined,
      traceId: trace?.traceId,
    };
    (res as WithContext)[CONTEXT] = ctx;
    if (trace !== undefined) (res as WithContext)[TRACE] = trace;
    // why: `on`, not `once`: a response closes once, and once's wrapper and removal cost ≈ 1 µs a request.
    res.on('close', onClose);
    return ctx;
  };
}
