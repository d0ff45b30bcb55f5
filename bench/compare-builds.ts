/**
 * A focused before/after comparison of POST /predict: two built checkouts of the service and bare
 * Express, measured in turns in one run (closed loop, wrk, 16 connections), so a busy machine
 * slows all three alike. Prints each round and the median req/s, and each build's ratio to bare
 * Express. A benchmark, not a test.
 *
 *   npx tsx bench/compare-builds.ts <baseline checkout> [candidate checkout, default .]
 *
 * Each checkout needs `dist/` (npm run build) and `models/`. BENCH_DURATION_S (default 5) and
 * BENCH_ROUNDS (default 3) set the length of each step and the number of turns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { runClosedLoop } from './lib/wrk.js';
import { freePort } from '../tests/support/ports.js';
import { treeDuring } from './lib/process-stats.js';
import { stopTarget } from './lib/targets.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const body = JSON.stringify({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });
const [baselineDir, candidateDir = '.'] = process.argv.slice(2);
if (baselineDir === undefined) throw new Error('usage: npx tsx bench/compare-builds.ts <baseline checkout> [candidate checkout]');

interface Target {
  name: string;
  cwd: string;
  args: string[];
  port: number;
  ready: string;
}
const targets: Target[] = [
  {
    name: 'bare Express 5',
    cwd: path.resolve(candidateDir),
    args: ['bench/baselines/bare-express.mjs'],
    port: await freePort(),
    ready: '/predict',
  },
  {
    name: `baseline (${baselineDir})`,
    cwd: path.resolve(baselineDir),
    args: ['--max-semi-space-size=4', 'dist/server.js'],
    port: await freePort(),
    ready: '/readyz',
  },
  {
    name: `candidate (${candidateDir})`,
    cwd: path.resolve(candidateDir),
    args: ['--max-semi-space-size=4', 'dist/server.js'],
    port: await freePort(),
    ready: '/readyz',
  },
];

async function waitReady(t: Target): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    try {
      const res = await fetch(
        `http://127.0.0.1:${t.port}${t.ready}`,
        t.ready === '/predict' ? { method: 'POST', headers: { 'content-type': 'application/json' }, body } : {},
      );
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${t.name} was not ready within 30 s`);
}

const children: ChildProcess[] = [];
const results = new Map<string, number[]>(targets.map((t) => [t.name, []]));
/** Server CPU milliseconds per request: less sensitive than req/s to other work on a busy machine. */
const cpuPerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
try {
  for (const t of targets) {
    children.push(
      spawn(process.execPath, t.args, {
        cwd: t.cwd,
        env: { ...process.env, PORT: String(t.port), HOST: '127.0.0.1', WORKERS: '1', SHUTDOWN_DRAIN_MS: '0' },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
    await waitReady(t);
    await runClosedLoop({ port: t.port, path: '/predict', body, connections: 16, durationS: 2 }); // warm-up
  }
  for (let round = 0; round < ROUNDS; round++) {
    // why rotate: each target is measured first, second and third in turn.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      const pid = children[targets.indexOf(t)].pid!;
      const { result: r, cpuSeconds } = await treeDuring(pid, () =>
        runClosedLoop({ port: t.port, path: '/predict', body, connections: 16, durationS: DURATION_S }),
      );
      const cpuMs = (cpuSeconds * 1000) / r.requests;
      results.get(t.name)!.push(r.requestsPerSecond);
      cpuPerRequest.get(t.name)!.push(cpuMs);
      console.log(
        `round ${round + 1} ${t.name}: ${r.requestsPerSecond.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, ${(cpuMs * 1000).toFixed(0)} µs CPU/request, errors ${r.errors}`,
      );
    }
  }
} finally {
  for (const child of children) await stopTarget(child);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = median(results.get(targets[0].name)!);
for (const t of targets) {
  const m = median(results.get(t.name)!);
  const cpu = median(cpuPerRequest.get(t.name)!);
  console.log(
    `${t.name}: median ${m.toFixed(0)} req/s, ${(m / bare).toFixed(2)}× bare Express; median ${(cpu * 1000).toFixed(0)} µs server CPU per request`,
  );
}
