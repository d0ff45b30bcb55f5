import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aTrip, FIXTURE_REGISTRY } from '../service/helpers.js';
import { percentile } from '../support/load.js';
import { startService, type ServiceProcess } from '../support/service-process.js';

const LIMIT = 4;
const CONCURRENT = 40;
/** The slow fixture model takes tens of ms per trip: a batch of 5 keeps a request busy for a while. */
const SLOW_BATCH = JSON.stringify({ trips: Array.from({ length: 5 }, () => aTrip()) });

interface Timed {
  status: number;
  ms: number;
  retryAfter: string | null;
  contentType: string | null;
  body: string;
}

async function timed(url: string, init?: RequestInit): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  return { status: res.status, ms: performance.now() - started, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type'), body };
}

/**
 * n requests that reach the server together: every connection is open before any request is written,
 * then all are written in one go, so the burst does not depend on how busy the test machine is.
 */
async function burst(port: number, n: number): Promise<Timed[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    })),
  );
  const raw = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${SLOW_BATCH.length}\r\nConnection: close\r\n\r\n${SLOW_BATCH}`;
  const started = performance.now();
  const replies = sockets.map(
    (socket) =>
      new Promise<Timed>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('close', () => {
          const [head, body = ''] = text.split('\r\n\r\n');
          const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1] ?? null;
          resolve({ status: Number(head.split(' ')[1]), ms: performance.now() - started, retryAfter: header('retry-after'), contentType: header('content-type'), body });
        });
      }),
  );
  for (const socket of sockets) socket.write(raw);
  return Promise.all(replies);
}

// why a separate process: onnxruntime-node runs a session synchronously (in a setImmediate), so a
// client in the same process would be blocked by the server's inference and could never pile up.
describe('the in-flight limit (MAX_IN_FLIGHT) with a slow model, in a server process', () => {
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    service = await startService({ MODEL_URI: 'models:/taxi-ride-duration@slow', REGISTRY_URI: FIXTURE_REGISTRY, MAX_IN_FLIGHT: String(LIMIT) });
    base = `http://127.0.0.1:${service.port}`;
  });

  afterAll(async () => {
    await service?.kill9();
  });

  const predict = () => timed(`${base}/predict`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: SLOW_BATCH });

  test('When 40 slow requests arrive together, then those beyond the limit get 503 with Retry-After without waiting for the admitted ones, and the admitted ones succeed', async () => {
    const replies = await burst(service.port, CONCURRENT);
    const admitted = replies.filter((r) => r.status === 200);
    const shed = replies.filter((r) => r.status === 503);
    const metrics = await (await fetch(`${base}/metrics`)).text();

    console.log(
      `[overload] ${CONCURRENT} concurrent, limit ${LIMIT}: ${admitted.length} admitted (p99 ${percentile(admitted.map((r) => r.ms), 99).toFixed(0)} ms), ` +
        `${shed.length} shed (p99 ${percentile(shed.map((r) => r.ms), 99).toFixed(0)} ms)`,
    );
    expect(admitted.length + shed.length).toBe(CONCURRENT);
    expect(admitted.length).toBeGreaterThanOrEqual(LIMIT);
    expect(shed.length).toBeGreaterThan(0);
    // why not "faster than every admitted one": inference blocks the event loop, so a shed reply can
    // wait for the one run in progress, but never for the queue of admitted requests.
    expect(Math.max(...shed.map((r) => r.ms))).toBeLessThan(Math.max(...admitted.map((r) => r.ms)));
    for (const r of shed) {
      expect(r).toMatchObject({ retryAfter: '1', contentType: 'application/problem+json; charset=utf-8' });
      expect(JSON.parse(r.body)).toMatchObject({ type: 'urn:taxi-ride-duration:problem:overloaded', status: 503 });
    }
    expect(metrics).toContain(`http_requests_shed_total ${shed.length}`);
    expect(metrics).toContain('http_requests_in_flight 0');
  });

  test('When the limit sheds, then /healthz, /readyz and /metrics still answer 200', async () => {
    const shedding = burst(service.port, LIMIT + 6);
    await new Promise((r) => setTimeout(r, 50));

    const probes = await Promise.all(['/healthz', '/readyz', '/metrics'].map((p) => timed(`${base}${p}`)));
    const replies = await shedding;

    expect(probes.map((p) => p.status)).toEqual([200, 200, 200]);
    expect(replies.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    expect(replies.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    const gauge = Number(/^http_requests_in_flight (\d+)$/m.exec(probes[2].body)?.[1]);
    expect(gauge).toBeLessThanOrEqual(LIMIT);
  });

  test('When the load is gone, then a request is admitted again', async () => {
    const reply = await predict();

    expect(reply.status).toBe(200);
  });
});
