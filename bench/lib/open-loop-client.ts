/**
 * The open-loop load generator itself: POSTs at a fixed rate whatever the server does, the way
 * independent users arrive, over a fixed pool of raw keep-alive sockets. It runs in its own process
 * (bench/lib/open-loop-process.ts), never in the bench orchestrator's event loop.
 *
 * why raw sockets: the request bytes are serialized once and each request is one `socket.write`; a
 * node:http client builds a ClientRequest, its headers and a parser per request, CPU that on a 2-core
 * machine is taken from the server being measured.
 *
 * Latency counts from each request's scheduled send time, not from when it was written: a stalled
 * server (or a stalled client) shows up in the percentiles instead of quietly lowering the offered
 * load (no coordinated omission). How late the client itself sent is reported apart (`sendLagMs`), so
 * a reader can tell the client's share of a tail from the server's.
 *
 * Timing without busy-waiting: send times are absolute (start + i / rate), and each wake-up sends
 * every request that is due, so timer lateness never accumulates into a lower rate. libuv timers have
 * millisecond resolution, so at 2,000 req/s requests leave in pairs about every millisecond; every
 * target sees the same pattern from the same client.
 */
import net from 'node:net';

export interface OpenLoopOptions {
  port: number;
  path: string;
  body: string;
  rate: number;
  durationS: number;
  /** Sockets opened before the first request; a due request with none free waits for one (and that wait counts). */
  connections?: number;
}

export interface OpenLoopSummary {
  targetRate: number;
  sent: number;
  completed: number;
  errors: number;
  achievedRate: number;
  connections: number;
  /** Sockets that were closed (by the server: Connection: close; or failed) and reopened. */
  reconnects: number;
  /** Requests that found every socket busy and waited for one. */
  waitedForSocket: number;
  /** Latencies in milliseconds from each request's scheduled send time, sorted ascending. */
  latenciesMs: Float64Array;
  /** How late the client wrote each request after its scheduled time, ms, sorted ascending. */
  sendLagMs: Float64Array;
  /** CPU the client used during the step (user + system, ms): what it took from the server's cores. */
  clientCpuMs: number;
}

/** Enough sockets that the pool is not what limits the rate: 25 ms worth of arrivals, at least 16. */
export function poolSizeFor(rate: number): number {
  return Math.max(16, Math.ceil(rate * 0.025));
}

interface Conn {
  socket: net.Socket;
  /** Index of the request in flight on this socket, -1 when free. */
  index: number;
  buffer: Buffer;
  dead: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Parses one HTTP/1.1 response from the start of `buf`: returns its total length, status and whether the
 * server will close, or undefined when incomplete. Every target answers with Content-Length.
 */
export function parseResponse(buf: Buffer): { length: number; status: number; close: boolean } | undefined {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const head = buf.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  const lower = head.toLowerCase();
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  if (!cl) throw new Error(`response without Content-Length: ${head.split('\r\n')[0]}`);
  const length = end + 4 + Number(cl[1]);
  if (buf.length < length) return undefined;
  return { length, status, close: /\r\nconnection:\s*close/.test(lower) };
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopSummary> {
  const { port, rate, durationS } = options;
  const request = Buffer.from(
    `POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(options.body)}\r\nConnection: keep-alive\r\n\r\n${options.body}`,
  );
  const total = Math.round(rate * durationS);
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  const intervalMs = 1000 / rate;
  const poolSize = options.connections ?? poolSizeFor(rate);
  let start = 0;
  let sent = 0;
  let completed = 0;
  let errors = 0;
  let reconnects = 0;
  let waitedForSocket = 0;
  const all = new Set<Conn>();
  const free: Conn[] = [];
  /** Requests due while every socket was busy, oldest first. */
  const backlog: number[] = [];
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const complete = (index: number, ok: boolean) => {
    latencies[index] = performance.now() - (start + index * intervalMs);
    if (!ok) errors += 1;
    completed += 1;
    if (completed === total) finish();
  };

  const write = (conn: Conn, index: number) => {
    conn.index = index;
    lags[index] = performance.now() - (start + index * intervalMs);
    conn.socket.write(request);
  };

  const release = (conn: Conn) => {
    conn.index = -1;
    const next = backlog.shift();
    if (next !== undefined) write(conn, next);
    else free.push(conn);
  };

  const open = (): Conn => {
    const conn: Conn = { socket: net.connect({ host: '127.0.0.1', port, noDelay: true }), index: -1, buffer: Buffer.alloc(0), dead: false };
    all.add(conn);
    conn.socket.on('data', (chunk: Buffer) => {
      conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
      let parsed: ReturnType<typeof parseResponse>;
      try {
        parsed = parseResponse(conn.buffer);
      } catch {
        return retire(conn);
      }
      if (parsed === undefined) return;
      conn.buffer = conn.buffer.subarray(parsed.length);
      const i = conn.index;
      conn.index = -1;
      if (i >= 0) complete(i, parsed.status === 200);
      if (parsed.close) retire(conn);
      else release(conn);
    });
    conn.socket.on('error', () => retire(conn));
    conn.socket.on('close', () => retire(conn));
    return conn;
  };

  /**
   * A socket that failed or that the server closed (gunicorn's sync workers close after every answer):
   * its request, if any, fails, and a new socket takes its place in the pool.
   */
  const retire = (conn: Conn) => {
    if (conn.dead) return;
    conn.dead = true;
    all.delete(conn);
    conn.socket.destroy();
    const i = free.indexOf(conn);
    if (i >= 0) free.splice(i, 1);
    if (conn.index >= 0) complete(conn.index, false);
    conn.index = -1;
    if (completed < total) {
      reconnects += 1;
      release(open());
    }
  };

  for (let i = 0; i < poolSize; i++) free.push(open());
  await Promise.all(free.map((c) => new Promise<void>((resolve, reject) => c.socket.once('connect', resolve).once('error', reject))));

  const cpuBefore = process.cpuUsage();
  start = performance.now() + 5;
  const dispatchDue = () => {
    const now = performance.now();
    while (sent < total && start + sent * intervalMs <= now) {
      const index = sent++;
      const conn = free.pop();
      if (conn !== undefined) write(conn, index);
      else {
        waitedForSocket += 1;
        backlog.push(index);
      }
    }
    if (sent < total) setTimeout(dispatchDue, Math.max(0, start + sent * intervalMs - performance.now()));
  };
  setTimeout(dispatchDue, 5);
  // why: a wedged target must not hang the whole bench; what is unanswered by then counts as failed,
  // with its latency up to that moment.
  const giveUp = setTimeout(
    () => {
      for (const c of all) if (c.index >= 0) complete(c.index, false);
      for (const index of backlog.splice(0)) complete(index, false);
      while (sent < total) complete(sent++, false);
    },
    (durationS * 3 + 30) * 1000,
  );
  await done;
  clearTimeout(giveUp);
  const elapsedS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const c of all) (c.dead = true), c.socket.destroy();
  latencies.sort();
  lags.sort();
  return {
    targetRate: rate,
    sent,
    completed,
    errors,
    achievedRate: completed / elapsedS,
    connections: poolSize,
    reconnects,
    waitedForSocket,
    latenciesMs: latencies,
    sendLagMs: lags,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}
