import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { percentile } from '../support/load.js';
import { startService, type ServiceProcess } from '../support/service-process.js';

const HEADERS_TIMEOUT_MS = 1500;
const REQUEST_TIMEOUT_MS = 3000;
const SLOW_HEADER_CLIENTS = 50;
const SLOW_BODY_CLIENTS = 10;
/** A slow client that was not cut off by then is a failure; the loop never runs longer. */
const GIVE_UP_MS = 15_000;
const TRIP = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 4.2 });

interface Cut {
  ms: number;
  reply: string;
}

/** Opens a socket, writes `head` at once, then one byte of `drip` every 100 ms until the server closes it. */
function slowClient(port: number, head: string, drip: string): Promise<Cut> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    let i = 0;
    const timer = setInterval(() => {
      if (performance.now() - started > GIVE_UP_MS) socket.destroy();
      else if (socket.writable) socket.write(drip[i++ % drip.length]);
    }, 100);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - started, reply });
    });
  });
}

describe('slow clients (slowloris) against a server process', () => {
  let service: ServiceProcess;

  beforeAll(async () => {
    service = await startService({ HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  });

  afterAll(async () => {
    await service?.kill9();
  });

  test('When many clients send headers or bodies byte by byte, then each is cut off with 408 after its timeout while a normal client keeps getting answers', async () => {
    const headerClients = Array.from({ length: SLOW_HEADER_CLIENTS }, () =>
      slowClient(service.port, 'POST /predict HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaa\r\n'),
    );
    const bodyClients = Array.from({ length: SLOW_BODY_CLIENTS }, () =>
      slowClient(service.port, `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n`, ' '),
    );
    const normal: { status: number; ms: number }[] = [];
    let slowDone = false;
    const all = Promise.all([Promise.all(headerClients), Promise.all(bodyClients)]).finally(() => (slowDone = true));
    while (!slowDone) {
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${service.port}/predict`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: TRIP,
      });
      await res.text();
      normal.push({ status: res.status, ms: performance.now() - started });
      await new Promise((r) => setTimeout(r, 50));
    }
    const [headerCuts, bodyCuts] = await all;
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();

    const h = headerCuts.map((c) => c.ms);
    const b = bodyCuts.map((c) => c.ms);
    console.log(
      `[slowloris] ${SLOW_HEADER_CLIENTS} slow-header clients cut after ${Math.min(...h).toFixed(0)}–${Math.max(...h).toFixed(0)} ms ` +
        `(HEADERS_TIMEOUT_MS=${HEADERS_TIMEOUT_MS}); ${SLOW_BODY_CLIENTS} slow-body clients cut after ${Math.min(...b).toFixed(0)}–${Math.max(...b).toFixed(0)} ms ` +
        `(REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS}); normal client: ${normal.length} requests, ${normal.filter((n) => n.status !== 200).length} failed, ` +
        `p99 ${percentile(
          normal.map((n) => n.ms),
          99,
        ).toFixed(1)} ms`,
    );
    for (const cut of headerCuts) {
      expect(cut.reply).toMatch(/^HTTP\/1\.1 408 /);
      expect(cut.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
      expect(cut.ms).toBeLessThan(GIVE_UP_MS);
    }
    for (const cut of bodyCuts) {
      expect(cut.reply).toMatch(/^HTTP\/1\.1 408 /);
      expect(cut.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(cut.ms).toBeLessThan(GIVE_UP_MS);
    }
    expect(normal.length).toBeGreaterThan(0);
    expect(normal.every((n) => n.status === 200)).toBe(true);
    expect(metrics).toContain('http_requests_in_flight 0');
  }, 60_000);

  test('When a keep-alive connection stays idle longer than the headers timeout, then its next request is still answered (load balancers reuse idle connections)', async () => {
    const socket = net.connect(service.port, '127.0.0.1');
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    const request = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${TRIP.length}\r\n\r\n${TRIP}`;
    await new Promise((r) => socket.on('connect', r));

    socket.write(request);
    await new Promise((r) => setTimeout(r, HEADERS_TIMEOUT_MS + 1500));
    socket.write(request);
    await new Promise((r) => setTimeout(r, 500));
    socket.destroy();

    expect(reply.match(/HTTP\/1\.1 200 OK/g)?.length).toBe(2);
  });
});
