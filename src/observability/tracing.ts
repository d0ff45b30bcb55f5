/**
 * Request tracing (docs/operations.md, "Tracing"). Always: a W3C `traceparent` header is read and its
 * trace id goes into the request's log lines, at the cost of parsing one header. With
 * OTEL_EXPORTER_OTLP_ENDPOINT set: each request is also a server span, child of the caller's span,
 * exported over OTLP/HTTP, and the response's `traceparent` names it. The OpenTelemetry packages are
 * imported only then (otel-tracer.ts), so a service without tracing never loads them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A parsed W3C trace context (https://www.w3.org/TR/trace-context/#traceparent-header). */
export interface TraceParent {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The caller's span: 16 lowercase hex digits. */
  parentId: string;
  /** Trace flags (bit 0: sampled). */
  flags: number;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ALL_ZERO = /^0+$/;

/** The header's trace context, or undefined when it is absent or not a valid one (then a new trace starts). */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  if (typeof header !== 'string' || header.length < 55) return undefined;
  const version = header.slice(0, 2);
  // why: version 00 is exactly 55 characters; a later version may append fields after a dash.
  if (
    !/^[0-9a-f]{2}$/.test(version) ||
    version === 'ff' ||
    (version === '00' ? header.length !== 55 : header.length > 55 && header[55] !== '-')
  )
    return undefined;
  if (header[2] !== '-' || header[35] !== '-' || header[52] !== '-') return undefined;
  const traceId = header.slice(3, 35);
  const parentId = header.slice(36, 52);
  const flags = header.slice(53, 55);
  if (!HEX32.test(traceId) || ALL_ZERO.test(traceId) || !HEX16.test(parentId) || ALL_ZERO.test(parentId) || !/^[0-9a-f]{2}$/.test(flags))
    return undefined;
  return { traceId, parentId, flags: parseInt(flags, 16) };
}

/** How a request's span ends. */
export interface SpanEnd {
  method: string;
  route: string;
  status: number;
  aborted: boolean;
  modelVersion: string | undefined;
}

/** One request's trace: its id for the logs, and how to end its span. */
export interface RequestTrace {
  readonly traceId: string;
  end(info: SpanEnd): void;
}

export interface RequestTracer {
  /** Called once as a request begins; undefined when the request has no trace (no header, no exporter). */
  begin(req: IncomingMessage, res: ServerResponse): RequestTrace | undefined;
}

export interface Tracing extends RequestTracer {
  /** Resolves once the exporter is loaded (at once when tracing is off). */
  readonly ready: Promise<void>;
  /** Exports the spans still buffered; for shutdown. */
  shutdown(): Promise<void>;
}

const noEnd = (): void => undefined;

/** Only the caller's trace id, for the logs; nothing exported. */
function headerOnly(req: IncomingMessage): RequestTrace | undefined {
  const parent = parseTraceparent(req.headers.traceparent);
  return parent === undefined ? undefined : { traceId: parent.traceId, end: noEnd };
}

/** Tracing off: the caller's trace id in the logs, nothing else. */
export const TRACE_HEADER_ONLY: RequestTracer = { begin: headerOnly };

export function createTracing(config: { OTEL_EXPORTER_OTLP_ENDPOINT?: string; OTEL_SERVICE_NAME: string }): Tracing {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined) return { begin: headerOnly, ready: Promise.resolve(), shutdown: async () => undefined };

  let exporting: RequestTracer | undefined;
  let shutdown: () => Promise<void> = async () => undefined;
  const ready = import('./otel-tracer.js').then(({ createOtelTracer }) => {
    const otel = createOtelTracer({ endpoint, serviceName: config.OTEL_SERVICE_NAME });
    exporting = otel;
    shutdown = otel.shutdown;
  });
  return {
    // why: requests that arrive before the exporter is loaded (probes during start-up) still log the caller's trace id.
    begin: (req, res) => (exporting === undefined ? headerOnly(req) : exporting.begin(req, res)),
    ready,
    shutdown: () => shutdown(),
  };
}
