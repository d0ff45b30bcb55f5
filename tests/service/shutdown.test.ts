/**
 * stop() under load, in-process (createService with a fixture model): what a client talking directly
 * to the service sees when it shuts down. The whole process (signals, exit codes) is covered by
 * server.system.test.ts.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/create-service.js';
import { FIXTURE_REGISTRY, REPO_ROOT, capturingLogger } from '../support/app.js';
import { countingLoad } from '../support/counting-client.js';

const TRIP = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 4 });
const running: Service[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('test cleanup')));
});

async function startService(env: Record<string, string> = {}) {
  const config = loadConfig({
    MODEL_URI: 'models:/taxi-ride-duration@base',
    REGISTRY_URI: FIXTURE_REGISTRY,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
  const { logger, logs } = capturingLogger(config.LOG_LEVEL);
  const service = createService(config, logger, { cwd: REPO_ROOT });
  running.push(service);
  const { port } = await service.start();
  return { service, port, logs };
}

/** Reads HTTP/1.1 responses off a raw socket (Content-Length bodies only). */
function responses(socket: Socket): { next(): Promise<{ head: string; body: string }>; ended: Promise<string> } {
  let buffered = '';
  const waiting: ((r: { head: string; body: string }) => void)[] = [];
  const ready: { head: string; body: string }[] = [];
  const parse = () => {
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const reply = { head, body: buffered.slice(end + 4, end + 4 + length) };
      buffered = buffered.slice(end + 4 + length);
      const w = waiting.shift();
      if (w) w(reply);
      else ready.push(reply);
    }
  };
  socket.on('data', (c: Buffer) => {
    buffered += c.toString();
    parse();
  });
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.on('close', () => resolve('closed'));
  });
  return { next: () => new Promise((resolve) => (ready.length > 0 ? resolve(ready.shift()!) : waiting.push(resolve))), ended };
}

const rawRequest = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${TRIP.length}\r\n\r\n${TRIP}`;

describe('stop() under load', () => {
  test('When 16 keep-alive clients send back to back through the drain and the close, then every request that was sent is answered', async () => {
    const { service, port } = await startService({ SHUTDOWN_DRAIN_MS: '100', SHUTDOWN_TIMEOUT_MS: '20000' });
    let warmedUp!: () => void;
    const warm = new Promise<void>((resolve) => (warmedUp = resolve));
    const load = countingLoad({ port, path: '/predict', body: TRIP, clients: 16, onAnswer: (n) => n === 300 && warmedUp() });
    await warm;

    const clean = await service.stop('SIGTERM');
    await load.done;

    expect(load.lost).toEqual([]);
    expect(load.answered).toBe(load.sent);
    expect(load.statuses[200]).toBe(load.answered);
    // Each client ends on a connection that could not open: the port was closed, nothing was sent.
    expect(load.refused).toBe(16);
    expect(clean).toBe(true);
  });

  test('When a request reaches an idle keep-alive connection just as stop() closes the port, then it is answered with Connection: close', async () => {
    const { service, port } = await startService({ SHUTDOWN_DRAIN_MS: '0' });
    const socket = connect(port, '127.0.0.1');
    const replies = responses(socket);
    socket.write(rawRequest);
    const first = await replies.next();
    expect(first.head).toMatch(/^HTTP\/1.1 200/);
    expect(first.head).toMatch(/connection: keep-alive/i);

    // The connection is idle; the next request's bytes are in the kernel's buffer when stop() closes
    // the port, with no drain and no idle grace (as on an interactive Ctrl-C).
    socket.write(rawRequest);
    const stopped = service.stop('SIGINT', { immediate: true });
    const second = await replies.next();

    expect(second.head).toMatch(/^HTTP\/1.1 200/);
    expect(second.head).toMatch(/connection: close/i);
    expect(await replies.ended).toBe('closed');
    expect(await stopped).toBe(true);
  });

  test('When a keep-alive connection stays idle, then stop() closes it and finishes cleanly, logging "stopped" last', async () => {
    const { service, port, logs } = await startService({ SHUTDOWN_DRAIN_MS: '0' });
    const socket = connect(port, '127.0.0.1');
    const replies = responses(socket);
    socket.write(rawRequest);
    await replies.next();

    expect(await service.stop('SIGTERM')).toBe(true);
    expect(await replies.ended).toBe('closed');
    const messages = logs.map((l) => l.msg);
    expect(messages.indexOf('no longer accepting connections; finishing in-flight requests')).toBeLessThan(messages.indexOf('stopped'));
    expect(messages.at(-1)).toBe('stopped');
  });
});
