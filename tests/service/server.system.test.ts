import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/app.js';
import { spawnServer } from '../support/service-process.js';
import { childEnv } from '../support/child-env.js';

interface Started {
  child: ChildProcessWithoutNullStreams;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  waitForLog: (msg: string) => Promise<Record<string, unknown>>;
}

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts src/server.ts as its own process (the real composition root), on 127.0.0.1 and a free port. */
function startServer(env: Record<string, string> = {}): Started {
  const server = spawnServer(env);
  running.push(server.child);
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  server.onLine((line) => {
    for (const w of waiters.filter((w) => w.msg === line.msg)) w.resolve(line);
  });
  const waitForLog = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = server.logs.find((l) => l.msg === msg);
      if (seen) return resolve(seen);
      waiters.push({ msg, resolve });
      void server.exited.then((code) => reject(new Error(`server exited (${code}) before logging "${msg}": ${server.stderr()}`)));
    });
  return { child: server.child, logs: server.logs, stderr: server.stderr, exited: server.exited, waitForLog };
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

function send(port: number, method: string, path: string, body?: string, agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent, headers: body ? { 'Content-Type': 'application/json' } : {} },
      (res) => collect(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(body);
  });
}

function collect(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString()));
    res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
  });
}

/** Until the server counts `n` JSON requests in progress: it has accepted them and read their headers. */
async function admitted(port: number, n: number): Promise<void> {
  while (!new RegExp(`^http_requests_in_flight ${n}$`, 'm').test((await send(port, 'GET', '/metrics')).text));
}

const TRIP = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });

describe('the server process', () => {
  test('When a second SIGTERM arrives during the drain, then it exits at once with 143', async () => {
    const server = startServer({ SHUTDOWN_DRAIN_MS: '600000' });
    await server.waitForLog('model loaded and warmed up; ready');

    server.child.kill('SIGTERM');
    await server.waitForLog('shutting down: readiness is 503, still serving');
    server.child.kill('SIGTERM');

    expect(await server.exited).toBe(143);
    expect(server.logs.at(-1)).toMatchObject({ level: 40, msg: 'second stop signal: exiting now', signal: 'SIGTERM' });
  });

  test('When Ctrl-C is pressed in a terminal, then it stops without the drain window and exits 0', async () => {
    // A real pseudo-terminal: script(1) runs the server on one; a 0x03 byte written to it is Ctrl-C.
    const command = `exec ${process.execPath} --import tsx src/server.ts`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { ...childEnv(), HOST: '127.0.0.1', PORT: '0', SHUTDOWN_DRAIN_MS: '600000', TERM: 'dumb' },
    });
    running.push(child);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let text = '';
    const seen = (msg: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => text.includes(`"msg":"${msg}"`) && resolve();
        child.stdout.on('data', (c: Buffer) => {
          text += c.toString();
          check();
        });
        check();
        void exited.then(() => reject(new Error(`exited before "${msg}": ${text}`)));
      });
    await seen('model loaded and warmed up; ready');

    child.stdin.write('\x03');

    expect(await exited).toBe(0);
    expect(text).toContain('"msg":"shutting down now, without the drain"');
    expect(text).not.toContain('"msg":"shutting down: readiness is 503, still serving"');
    expect(text).toContain('"msg":"stopped"');
  });

  test('When started, it serves, drains on SIGTERM (503 readiness, in-flight request finishes) and exits 0', async () => {
    const server = startServer({ SHUTDOWN_DRAIN_MS: '1000', SHUTDOWN_TIMEOUT_MS: '10000' });
    const port = (await server.waitForLog('listening')).port as number;
    await server.waitForLog('model loaded and warmed up; ready');

    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const ready = await send(port, 'GET', '/readyz', undefined, keepAlive);
    const predicted = await send(port, 'POST', '/predict', TRIP);
    const scraped = await send(port, 'GET', '/metrics');

    expect(ready.status).toBe(200);
    expect(ready.headers.connection).toBe('keep-alive');
    expect(predicted.status).toBe(200);
    expect(JSON.parse(predicted.text)).toEqual({
      duration: expect.any(Number),
      duration_p10: expect.any(Number),
      duration_p90: expect.any(Number),
      model_version: expect.stringMatching(/^taxi-ride-duration\/\d+$/),
      ride_id: expect.any(String),
    });
    expect(scraped.text).toMatch(/predictions_total\{model_version="taxi-ride-duration\/\d+",outcome="success"\} 1/);
    expect(scraped.text).toMatch(/model_info\{name="taxi-ride-duration",version="\d+",alias="production",stale="false"\} 1/);

    // A request whose body is only half sent is in flight across the whole shutdown.
    let inFlightReply!: Promise<Reply>;
    const inFlight = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/predict',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': TRIP.length },
      },
      (res) => (inFlightReply = collect(res)),
    );
    const responded = new Promise<void>((resolve) => inFlight.on('response', () => resolve()));
    inFlight.write(TRIP.slice(0, 20));
    await admitted(port, 1);

    server.child.kill('SIGTERM');
    await server.waitForLog('shutting down: readiness is 503, still serving');
    const drainingReady = await send(port, 'GET', '/readyz');
    const drainingPredict = await send(port, 'POST', '/predict', TRIP, keepAlive);
    await server.waitForLog('no longer accepting connections; finishing in-flight requests');
    const refused = await send(port, 'GET', '/healthz').catch((err: NodeJS.ErrnoException) => err.code);
    inFlight.end(TRIP.slice(20));
    await responded;
    const finished = await inFlightReply;
    const code = await server.exited;
    keepAlive.destroy();

    expect(drainingReady.status).toBe(503);
    expect(JSON.parse(drainingReady.text)).toMatchObject({ status: 'draining' });
    expect(drainingPredict.status).toBe(200);
    // Keep-alive connections are served through the drain and closed between requests afterwards.
    expect(drainingPredict.headers.connection).toBe('keep-alive');
    expect(refused).toBe('ECONNREFUSED');
    expect(finished.status).toBe(200);
    expect({ ...JSON.parse(finished.text), ride_id: 'any' }).toEqual({ ...JSON.parse(predicted.text), ride_id: 'any' });
    expect(code).toBe(0);
    if (server.logs.at(-1)?.msg !== 'stopped') console.log(server.logs.slice(-6));
    expect(server.logs.at(-1)).toMatchObject({ msg: 'stopped' });
    expect(server.logs.filter((l) => l.msg === 'request' && l.route === '/predict')).toHaveLength(3);
  });

  test('When an in-flight request outlasts SHUTDOWN_TIMEOUT_MS, then its connection is closed and the exit code is 1', async () => {
    const server = startServer({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: '300' });
    const port = (await server.waitForLog('listening')).port as number;
    await server.waitForLog('model loaded and warmed up; ready');
    const stuck = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/predict',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': TRIP.length },
    });
    const outcome = new Promise<string>((resolve) => {
      stuck.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      stuck.on('response', (res) => resolve(`status ${res.statusCode}`));
    });
    stuck.write(TRIP.slice(0, 10));
    await admitted(port, 1);

    server.child.kill('SIGTERM');

    expect(await server.exited).toBe(1);
    expect(await outcome).toBe('ECONNRESET');
    const cut = server.logs.findIndex((l) => l.msg === 'in-flight requests did not finish in time; closing connections');
    expect(server.logs[cut]).toMatchObject({ level: 50 });
    // The cut request's own line (aborted), then the last line.
    expect(server.logs.slice(cut + 1)).toEqual([
      expect.objectContaining({ msg: 'request', aborted: true }),
      expect.objectContaining({ msg: 'stopped' }),
    ]);
  });

  test('When the port is already in use, then it logs one fatal line naming it and exits 1', async () => {
    const taken = createNetServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const server = startServer({ PORT: String(port) });

      expect(await server.exited).toBe(1);
      expect(server.logs.filter((l) => (l.level as number) >= 50)).toEqual([
        expect.objectContaining({ level: 60, msg: `cannot listen on 127.0.0.1:${port}: the port is already in use` }),
      ]);
      expect(server.stderr()).toBe('');
    } finally {
      taken.close();
    }
  });

  test('When a variable is invalid, then it exits 1 with one line naming it', async () => {
    const server = startServer({ PORT: 'ninety' });

    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe('invalid configuration: PORT="ninety": expected a port number\n');
  });

  test('When the model cannot be loaded, then it logs why and exits 1', async () => {
    const server = startServer({ MODEL_URI: 'models:/taxi-ride-duration@no-such-alias' });

    expect(await server.exited).toBe(1);
    expect(server.logs.at(-1)).toMatchObject({
      level: 60,
      msg: expect.stringMatching(/cannot load the model: .*has no alias "no-such-alias"/),
    });
  });
});
