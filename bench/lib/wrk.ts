import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClosedLoopResult {
  connections: number;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

/**
 * Saturation (closed loop): wrk keeps `connections` requests outstanding for `durationS` seconds.
 * wrk is a small C client, so it takes less of the shared CPU from the server than a Node load generator.
 */
export async function runClosedLoop(options: {
  port: number;
  path: string;
  body: string;
  connections: number;
  durationS: number;
}): Promise<ClosedLoopResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-wrk-'));
  const script = path.join(dir, 'post.lua');
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = ${JSON.stringify(options.body)}`,
      'wrk.headers["Content-Type"] = "application/json"',
      'done = function(summary, latency, requests)',
      '  local e = summary.errors',
      '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, e.connect + e.read + e.write + e.timeout + e.status,',
      '    summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))',
      'end',
    ].join('\n'),
  );
  let stdout: string;
  try {
    ({ stdout } = await run('wrk', [
      '-t1',
      `-c${options.connections}`,
      `-d${options.durationS}s`,
      '-s',
      script,
      `http://127.0.0.1:${options.port}${options.path}`,
    ]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const [requests, errors, durationUs, p50, p99, p999] = line.split(' ').slice(1).map(Number);
  return {
    connections: options.connections,
    requests,
    errors,
    requestsPerSecond: requests / (durationUs / 1e6),
    p50Ms: p50 / 1000,
    p99Ms: p99 / 1000,
    p999Ms: p999 / 1000,
  };
}
