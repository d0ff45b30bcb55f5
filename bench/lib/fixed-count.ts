import http from 'node:http';

/**
 * Sends exactly `count` POST requests over `connections` keep-alive connections, each connection sending its
 * next request when the previous answer arrives. Used to drive a known number of requests (the memory soak)
 * and to time batches one at a time; returns per-request latencies and response headers of the last reply.
 */
export async function runFixedCount(options: {
  port: number;
  path: string;
  body: string;
  count: number;
  connections: number;
}): Promise<{ latenciesMs: Float64Array; errors: number; elapsedS: number; serverTimingsMs: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) };
  const latencies = new Float64Array(options.count);
  const serverTimingsMs: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < options.count) {
      const index = next++;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: options.port, path: options.path, method: 'POST', headers, agent }, (res) => {
          const timing = res.headers['server-timing'];
          const match = typeof timing === 'string' ? /total;dur=([\d.]+)/.exec(timing) : null;
          if (match) serverTimingsMs.push(Number(match[1]));
          if (res.statusCode !== 200) errors += 1;
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.end(options.body);
      });
      latencies[index] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort();
  return { latenciesMs: latencies, errors, elapsedS, serverTimingsMs };
}
