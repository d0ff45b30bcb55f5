/**
 * The OpenTelemetry side of tracing.ts, imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set: a
 * server span per request, exported in batches over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { parseTraceparent, type RequestTracer } from './tracing.js';

export function createOtelTracer(options: { endpoint: string; serviceName: string }): RequestTracer & { shutdown(): Promise<void> } {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer('taxi-ride-duration');

  return {
    begin(req, res) {
      const parent = parseTraceparent(req.headers.traceparent);
      const context =
        parent === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: parent.traceId,
              spanId: parent.parentId,
              traceFlags: parent.flags,
              isRemote: true,
            });
      const span = tracer.startSpan(
        req.method ?? 'HTTP',
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '' } },
        context,
      );
      const { traceId, spanId, traceFlags } = span.spanContext();
      // why: the caller can find this request's span (and its logs) from the response alone.
      res.setHeader('traceparent', `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`);
      return {
        traceId,
        end({ method, route, status, aborted, modelVersion }) {
          span.updateName(`${method} ${route}`);
          span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
          if (modelVersion !== undefined) span.setAttribute('model.version', modelVersion);
          if (status >= 500 || aborted)
            span.setStatus({ code: SpanStatusCode.ERROR, message: aborted ? 'the client left before the response' : undefined });
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
