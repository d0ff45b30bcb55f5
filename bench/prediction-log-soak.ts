/**
 * RSS and major GCs of one service worker while its in-memory prediction log fills and then turns over
 * (docs/monitoring.md, "Memory of the prediction log"): `npm start` with WORKERS=1 plus --trace-gc,
 * single-trip requests (16 connections, each answered ride logged under a service-made id), RSS after
 * each chunk, and the mark-compact GCs V8 reports (their pause, and the incremental marking steps before
 * it, both on the main thread); with `--monitoring false` the same without the log, for the baseline.
 * Needs `npm run build`.
 *
 *   npx tsx bench/prediction-log-soak.ts [--requests 300000] [--chunk 50000] [--monitoring true|false]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { runFixedCount } from './lib/fixed-count.js';
import { treeStats } from './lib/process-stats.js';
import { freePort, serviceTarget, stopTarget, waitUntilReady } from './lib/targets.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300000' },
    chunk: { type: 'string', default: '50000' },
    monitoring: { type: 'string', default: 'true' },
  },
});
const requests = Number(values.requests);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const chunk = Number(values.chunk);
const body = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });

const target = serviceTarget(1, {
  soak: true,
  variant: { label: `MONITORING=${values.monitoring}`, env: { MONITORING: values.monitoring } },
});
const port = await freePort();
const spawnedAt = performance.now();
const child = spawn(target.command, ['--trace-gc', ...target.args], {
  cwd: path.resolve(import.meta.dirname, '..'),
  env: { ...process.env, ...target.env, PORT: String(port) },
  stdio: ['ignore', 'pipe', 'ignore'],
});
/** Per mark-compact: [pause ms, incremental marking ms]. */
const majorGcs: [number, number][] = [];
createInterface({ input: child.stdout! }).on('line', (line) => {
  const m = /Mark-Compact.*?MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms(?: +\(\+ ([\d.]+) ms in)?/.exec(line);
  if (m) majorGcs.push([Number(m[1]), Number(m[2] ?? 0)]);
});
try {
  await waitUntilReady(target, child, port, spawnedAt, body);
  majorGcs.length = 0;
  const rssMb: number[] = [];
  let errors = 0;
  for (let sent = 0; sent < requests; sent += chunk) {
    const f = await runFixedCount({ port, path: '/predict', body, count: chunk, connections: 16 });
    errors += f.errors;
    rssMb.push(Math.round((treeStats(child.pid!).rssPerProcess[0] ?? 0) / 2 ** 20));
  }
  const snapshot = await fetch(`http://127.0.0.1:${port}/monitoring`).then((r) =>
    r.ok ? (r.json() as Promise<{ prediction_log?: unknown }>) : undefined,
  );
  console.log(
    JSON.stringify({
      monitoring: values.monitoring,
      requests,
      chunk,
      errors,
      rss_mb_after_each_chunk: rssMb,
      prediction_log: snapshot?.prediction_log,
      mark_compacts: majorGcs.length,
      pause_ms: { total: Math.round(sum(majorGcs.map((g) => g[0]))), max: Math.round(Math.max(0, ...majorGcs.map((g) => g[0]))) },
      incremental_marking_ms: Math.round(sum(majorGcs.map((g) => g[1]))),
    }),
  );
} finally {
  await stopTarget(child);
}
