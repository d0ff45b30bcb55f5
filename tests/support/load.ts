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

/**
 * Steady closed-loop load: `connections` keep-alive clients each POST /predict one after another until
 * stop() (or `maxMs`, so a failing test never leaves it running). Bounded and self-stopping.
 */
export function startLoad(port: number, connections: number, maxMs = 90_000): { stop(): Promise<LoadResult> } {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: LoadResult = { sent: 0, ok: 0, failures: [], samples: [] };
  let running = true;
  const deadline = setTimeout(() => (running = false), maxMs);
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      result.sent++;
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/predict',
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': BODY.length },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            result.samples.push([started, performance.now() - started]);
            if (res.statusCode === 200 && text.includes('"duration"')) result.ok++;
            else result.failures.push({ at: started, what: `${res.statusCode} ${text.slice(0, 120)}` });
            resolve();
          });
          res.on('error', (err) => {
            result.failures.push({ at: started, what: `response error ${err.message}` });
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        result.failures.push({ at: started, what: `request error ${err.message}` });
        resolve();
      });
      req.end(BODY);
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
      return result;
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
