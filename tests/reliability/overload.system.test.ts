import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aTrip, FIXTURE_REGISTRY } from '../support/app.js';
import { percentile } from '../support/load.js';
import { waitFor } from '../support/ports.js';
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
  return {
    status: res.status,
    ms: performance.now() - started,
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type'),
    body,
  };
}

const RAW_HEAD = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${SLOW_BATCH.length}\r\nConnection: close\r\n\r\n`;

function connectAll(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
}

/** The reply read from a raw socket until the server closes it, timed from `started`. */
function replyOf(socket: net.Socket, started: () => number): Promise<Timed> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => {
      const [head, body = ''] = text.split('\r\n\r\n');
      const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1] ?? null;
      resolve({
        status: Number(head.split(' ')[1]),
        ms: performance.now() - started(),
        retryAfter: header('retry-after'),
        contentType: header('content-type'),
        body,
      });
    });
  });
}

/**
 * n requests written together on connections opened beforehand and given time to be accepted, as a
 * load balancer's pooled connections are. why: on connections the server has not accepted yet, requests
 * wait in the kernel while an inference blocks the event loop, and are taken in one by one: measured,
 * 20 requests written right after connecting were all admitted and served one after another.
 */
async function burst(port: number, n: number): Promise<Timed[]> {
  const sockets = await connectAll(port, n);
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  const replies = sockets.map((socket) => replyOf(socket, () => started));
  for (const socket of sockets) socket.write(RAW_HEAD + SLOW_BATCH);
  return Promise.all(replies);
}

const expectShedProblem = (r: Timed) => {
  expect(r).toMatchObject({ status: 503, retryAfter: '1', contentType: 'application/problem+json; charset=utf-8' });
  expect(JSON.parse(r.body)).toMatchObject({ type: 'urn:taxi-ride-duration:problem:overloaded', status: 503 });
};

// why a separate process: onnxruntime-node runs a session synchronously (in a setImmediate), so a
// client in the same process would be blocked by the server's inference and could never pile up.
describe('the in-flight limit (MAX_IN_FLIGHT) with a slow model, in a server process', () => {
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    service = await startService({
      MODEL_URI: 'models:/taxi-ride-duration@slow',
      REGISTRY_URI: FIXTURE_REGISTRY,
      MAX_IN_FLIGHT: String(LIMIT),
    });
    base = `http://127.0.0.1:${service.port}`;
  });

  afterAll(async () => {
    await service?.kill9();
  });

  const predict = () => timed(`${base}/predict`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: SLOW_BATCH });

  const gauge = async () => Number(/^http_requests_in_flight (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

  test('When slow requests hold every slot, then 36 more get 503 problem+json with Retry-After at once, probes answer, and the held requests then all succeed', async () => {
    const held = await connectAll(service.port, LIMIT);
    let bodiesSentAt = 0;
    const heldReplies = held.map((socket) => replyOf(socket, () => bodiesSentAt));
    const half = SLOW_BATCH.length >> 1;
    for (const socket of held) socket.write(RAW_HEAD + SLOW_BATCH.slice(0, half));
    await waitFor(async () => ((await gauge()) === LIMIT ? true : undefined), `${LIMIT} requests in flight`);

    const shed = await burst(service.port, CONCURRENT - LIMIT);
    const probes = await Promise.all(['/healthz', '/readyz', '/metrics'].map((p) => timed(`${base}${p}`)));
    bodiesSentAt = performance.now();
    for (const socket of held) socket.write(SLOW_BATCH.slice(half));
    const admitted = await Promise.all(heldReplies);
    const metrics = await (await fetch(`${base}/metrics`)).text();

    console.log(
      `[overload, slots held] limit ${LIMIT}: ${shed.length} shed (p99 ${percentile(
        shed.map((r) => r.ms),
        99,
      ).toFixed(1)} ms), ` +
        `${admitted.length} admitted, all finished ${Math.max(...admitted.map((r) => r.ms)).toFixed(0)} ms after their bodies were complete`,
    );
    shed.forEach(expectShedProblem);
    expect(probes.map((p) => p.status)).toEqual([200, 200, 200]);
    expect(probes[2].body).toMatch(new RegExp(`^http_requests_in_flight ${LIMIT}$`, 'm'));
    expect(admitted.map((r) => r.status)).toEqual(Array(LIMIT).fill(200));
    expect(metrics).toMatch(new RegExp(`^http_requests_shed_total ${CONCURRENT - LIMIT}$`, 'm'));
    expect(metrics).toMatch(/^http_requests_in_flight 0$/m);
  });

  test('When 40 slow requests arrive together, then each is either served (200) or shed at once (503 problem+json), and the slots are all freed', async () => {
    const replies = await burst(service.port, CONCURRENT);
    const admitted = replies.filter((r) => r.status === 200);
    const shed = replies.filter((r) => r.status !== 200);

    // why no exact split: inference blocks the event loop (onnxruntime-node runs a session
    // synchronously), so how many requests the server takes in between two runs depends on timing.
    console.log(
      `[overload, burst] ${CONCURRENT} together, limit ${LIMIT}: ${admitted.length} admitted (p99 ${percentile(
        admitted.map((r) => r.ms),
        99,
      ).toFixed(0)} ms), ` +
        `${shed.length} shed (p99 ${percentile(
          shed.map((r) => r.ms),
          99,
        ).toFixed(0)} ms)`,
    );
    expect(admitted.length).toBeGreaterThan(0);
    shed.forEach(expectShedProblem);
    expect(await gauge()).toBe(0);
  });

  test('When 40 requests arrive on brand-new connections while an inference blocks the event loop, then all are answered; how many got past the limit is printed', async () => {
    // One slow request is admitted with half its body; the rest starts its inference, and the burst
    // connects and writes while that blocks the event loop.
    const [blockerSocket] = await connectAll(service.port, 1);
    const blocker = replyOf(blockerSocket, () => 0);
    const half = SLOW_BATCH.length >> 1;
    blockerSocket.write(RAW_HEAD + SLOW_BATCH.slice(0, half));
    await waitFor(async () => ((await gauge()) === 1 ? true : undefined), 'the blocking request in flight');
    blockerSocket.write(SLOW_BATCH.slice(half));
    const started = performance.now();
    const sockets = Array.from({ length: CONCURRENT }, () => net.connect(service.port, '127.0.0.1'));
    const replies = sockets.map((socket) => replyOf(socket, () => started));
    for (const socket of sockets) socket.write(RAW_HEAD + SLOW_BATCH);
    const results = await Promise.all(replies);
    await blocker;
    const admitted = results.filter((r) => r.status === 200);

    // why no bound asserted: the queue here is the kernel's (accept backlog, socket buffers), which the
    // in-flight count cannot see; docs/reliability.md gives the measured figure and why.
    console.log(
      `[overload, new connections during inference] ${CONCURRENT} on new connections, limit ${LIMIT}: ${admitted.length} admitted ` +
        `(slowest ${Math.max(...admitted.map((r) => r.ms), 0).toFixed(0)} ms), ${CONCURRENT - admitted.length} shed`,
    );
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    results.filter((r) => r.status === 503).forEach(expectShedProblem);
    expect(await gauge()).toBe(0);
  });

  test('When the load is gone, then a request is admitted again', async () => {
    const reply = await predict();

    expect(reply.status).toBe(200);
  });
});
