import http from 'node:http';

export interface OpenLoopResult {
  targetRate: number;
  sent: number;
  completed: number;
  errors: number;
  achievedRate: number;
  /** Latencies in milliseconds, measured from each request's scheduled send time (no coordinated omission). */
  latenciesMs: Float64Array;
}

/**
 * Sends POST requests at a fixed rate whatever the server does (an open loop), the way independent users
 * arrive. Each latency counts from when the request was due, not from when a free connection sent it, so a
 * stalled server shows up in the percentiles instead of quietly lowering the offered load.
 */
export async function runOpenLoop(options: {
  port: number;
  path: string;
  body: string;
  rate: number;
  durationS: number;
  maxConnections?: number;
}): Promise<OpenLoopResult> {
  const { port, path, body, rate, durationS } = options;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxConnections ?? 256 });
  const total = Math.round(rate * durationS);
  const latencies = new Float64Array(total);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  let sent = 0;
  let completed = 0;
  let errors = 0;
  const start = performance.now() + 20;
  const intervalMs = 1000 / rate;

  await new Promise<void>((resolve) => {
    const finishOne = (index: number, dueAt: number, ok: boolean) => {
      latencies[index] = performance.now() - dueAt;
      if (!ok) errors += 1;
      completed += 1;
      if (completed === total) resolve();
    };
    const dispatchDue = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        const index = sent;
        const dueAt = start + index * intervalMs;
        sent += 1;
        const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent }, (res) => {
          res.resume();
          res.on('end', () => finishOne(index, dueAt, res.statusCode === 200));
        });
        req.on('error', () => finishOne(index, dueAt, false));
        req.end(body);
      }
      if (sent < total) setTimeout(dispatchDue, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    setTimeout(dispatchDue, 20);
  });
  const elapsedS = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort();
  return { targetRate: rate, sent, completed, errors, achievedRate: completed / elapsedS, latenciesMs: latencies };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
