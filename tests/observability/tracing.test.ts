import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/create-service.js';
import { parseTraceparent } from '../../src/observability/tracing.js';
import { aTrip, buildApp, FIXTURE_REGISTRY, REPO_ROOT, capturingLogger } from '../support/app.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

describe('parseTraceparent', () => {
  test('When the header is a valid W3C traceparent, then its ids and flags are read', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 });
    expect(parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-00-future`)).toEqual({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 0 });
  });

  test.each([
    ['absent', undefined],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['version 00 with more fields', `${TRACEPARENT}-x`],
    ['too short', `00-${TRACE_ID}-${PARENT_ID}-1`],
  ])('When the header is %s, then it is ignored', (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });
});

describe('trace ids in logs, tracing off', () => {
  test('When a request carries a traceparent, then its log line has the trace id; without one, no trace_id and no traceparent answer', async () => {
    const t = await buildApp({ logLevel: 'info' });

    const traced = await request(t.app).post('/predict').set('traceparent', TRACEPARENT).send(aTrip());
    const plain = await request(t.app).post('/predict').send(aTrip());

    const lines = t.logs.filter((l) => l.msg === 'request');
    expect(lines[0]).toMatchObject({ trace_id: TRACE_ID, req_id: traced.headers['x-request-id'] });
    expect(lines[1].trace_id).toBeUndefined();
    expect(traced.headers.traceparent).toBeUndefined();
    expect(plain.headers.traceparent).toBeUndefined();
  });

  test('When tracing is off, then no source file loads OpenTelemetry except through the lazy import in tracing.ts', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const src = join(REPO_ROOT, 'src');
    const importers = files(src).filter((f) => /^import[^(]*from '@opentelemetry\//m.test(readFileSync(f, 'utf8')));
    const staticOtelTracer = files(src).filter((f) => /^import[^(]*from '\.\/otel-tracer\.js'/m.test(readFileSync(f, 'utf8')));

    expect(importers.map((f) => f.slice(src.length + 1))).toEqual(['observability/otel-tracer.ts']);
    expect(staticOtelTracer).toEqual([]);
  });
});

/** An OTLP/HTTP receiver (JSON encoding) on 127.0.0.1 that keeps every span it is sent. */
async function otlpReceiver() {
  const spans: Record<string, unknown>[] = [];
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const message = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
      for (const rs of message.resourceSpans)
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, resource: rs.resource });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    paths,
    close: () => new Promise((r) => server.close(r)),
  };
}

const attribute = (span: Record<string, unknown>, key: string) =>
  (span.attributes as { key: string; value: Record<string, unknown> }[]).find((a) => a.key === key)?.value;

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  test("When a request carries a traceparent, then its server span is exported as the caller's child, named by route, and the response and logs name it", async () => {
    const receiver = await otlpReceiver();
    cleanups.push(receiver.close);
    const config = loadConfig({
      MODEL_URI: 'models:/taxi-ride-duration@base',
      REGISTRY_URI: FIXTURE_REGISTRY,
      HOST: '127.0.0.1',
      PORT: '0',
      SHUTDOWN_DRAIN_MS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_SERVICE_NAME: 'taxi-test',
    });
    const { logger, logs } = capturingLogger('info');
    const service: Service = createService(config, logger, { cwd: REPO_ROOT });
    cleanups.push(() => service.stop('test'));
    const { port } = await service.start();

    const res = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', traceparent: TRACEPARENT },
      body: JSON.stringify(aTrip()),
    });
    const bad = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"PULocationID": 0}',
    });
    await service.stop('test'); // exports what is buffered

    expect(res.status).toBe(200);
    const answered = parseTraceparent(res.headers.get('traceparent') ?? undefined);
    expect(answered).toMatchObject({ traceId: TRACE_ID, flags: 1 });
    expect(receiver.paths[0]).toBe('POST /v1/traces application/json');
    const span = receiver.spans.find((s) => s.traceId === TRACE_ID)!;
    expect(span).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID, spanId: answered!.parentId, name: 'POST /predict', kind: 2 });
    expect(attribute(span, 'http.response.status_code')).toEqual({ intValue: 200 });
    expect(attribute(span, 'model.version')).toEqual({ stringValue: 'taxi-ride-duration/1' });
    expect(JSON.stringify(span.resource)).toContain('"taxi-test"');

    // Without a traceparent a new trace starts; its id is in the response, the span and the log line.
    const fresh = parseTraceparent(bad.headers.get('traceparent') ?? undefined)!;
    expect(fresh.traceId).not.toBe(TRACE_ID);
    const root = receiver.spans.find((s) => s.traceId === fresh.traceId)!;
    expect(root.name).toBe('POST /predict');
    expect(root.parentSpanId || undefined).toBeUndefined();
    const lines = logs.filter((l) => l.msg === 'request');
    expect(lines.map((l) => l.trace_id)).toEqual([TRACE_ID, fresh.traceId]);
  });
});
