import { Agent, request } from 'node:http';

export interface LoadResult {
  sent: number;
  ok: number;
  /** Responses other than 200 and transport errors, each with when it happened. */
  failures: { at: number; what: string }[];
  /** [start time, latency ms] of every request, for percentiles over a time window. */
  samples: [number, number][];
}

const BODY = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 4.2 });

/** What a closed loop does with each exchange: an answer (status, body text), or a transport error. */
export interface ClosedLoopHandlers {
  answer(status: number, text: string, started: number, latencyMs: number): void;
  error(what: string, started: number): void;
}

/**
 * `connections` keep-alive clients each POST `text` to /predict one after another until stop() (or
 * `maxMs`, so a failing test never leaves it running). Bounded and self-stopping.
 */
export function closedLoop(
  port: number,
  connections: number,
  text: string,
  handlers: ClosedLoopHandlers,
  maxMs: number,
): { stop(): Promise<void> } {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let running = true;
  const deadline = setTimeout(() => (running = false), maxMs);
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/predict',
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            handlers.answer(res.statusCode ?? 0, body, started, performance.now() - started);
            resolve();
          });
          res.on('error', (err) => {
            handlers.error(`response error ${err.message}`, started);
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        handlers.error(`request error ${err.message}`, started);
        resolve();
      });
      req.end(text);
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running) await one();
  });
  return {
    async stop() {
      running = false;
      clearTimeout(deadline);
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** Steady closed-loop load of the course's trip, counting successes and failures with their times. */
export function startLoad(port: number, connections: number, maxMs = 90_000): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { sent: 0, ok: 0, failures: [], samples: [] };
  const loop = closedLoop(
    port,
    connections,
    BODY,
    {
      answer(status, text, started, latencyMs) {
        result.sent++;
        result.samples.push([started, latencyMs]);
        if (status === 200 && text.includes('"duration"')) result.ok++;
        else result.failures.push({ at: started, what: `${status} ${text.slice(0, 120)}` });
      },
      error(what, started) {
        result.sent++;
        result.failures.push({ at: started, what });
      },
    },
    maxMs,
  );
  return {
    async stop() {
      await loop.stop();
      return result;
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
