/**
 * `npm run bench`: the service, the framework's limit (bare Express), the machine's limit (bare node:http) and
 * the course's Python service, under the same load in one run on this machine. Prints one table and writes the
 * same rows as JSON to bench/results/. A benchmark, not a test: it asserts nothing.
 *
 * BENCH_DURATION_S (default 5) sets the length of each measured step; BENCH_TARGETS filters targets by name
 * (BENCH_TARGETS=none runs none of them). BENCH_MONITORING_ROUNDS=N adds the monitoring cost scenario:
 * the service with MONITORING=true and =false side by side, N interleaved closed-loop steps each.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFixedCount } from './lib/fixed-count.js';
import { percentile, runOpenLoop } from './lib/open-loop.js';
import { fmt, renderResultsTable, type BenchRow } from './report-table.js';
import { treeStats } from './lib/process-stats.js';
import { serviceTarget, startTarget, stopTarget, TARGETS, waitUntilReady, type Target } from './lib/targets.js';
import { runClosedLoop } from './lib/wrk.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = [1, 16, 64];
const OPEN_LOOP_RATES = [500, 1000, 2000];
const BATCH_SIZES = [100, 1000];
const SOAK_REQUESTS = 100_000;
const SOAK_CHUNK = 10_000;
const PORT = 19_696;

const trip = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };
const singleBody = JSON.stringify(trip);

const rows: BenchRow[] = [];
const notes: string[] = [];

function batchBody(size: number): string {
  const trips = Array.from({ length: size }, (_, i) => ({
    PULocationID: 1 + (i % 265),
    DOLocationID: 1 + ((i * 7) % 265),
    trip_distance: (i % 300) / 10,
    pickup_datetime: '2021-03-01T08:30:00',
  }));
  return JSON.stringify({ trips });
}

async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpuCores: number; rssMb: number; maxWorkerRssMb: number }> {
  const before = treeStats(pid);
  const t0 = performance.now();
  const result = await work();
  const wallS = (performance.now() - t0) / 1000;
  const after = treeStats(pid);
  return {
    result,
    cpuCores: (after.cpuSeconds - before.cpuSeconds) / wallS,
    rssMb: after.rssBytes / 2 ** 20,
    maxWorkerRssMb: (after.rssPerProcess[0] ?? 0) / 2 ** 20,
  };
}

async function benchTarget(target: Target): Promise<void> {
  const reason = target.unavailable();
  if (reason) {
    notes.push(`skipped ${target.name}: ${reason}`);
    console.log(`-- skipping ${target.name}: ${reason}`);
    return;
  }
  console.log(`-- ${target.name}: ${target.description}`);
  const spawnedAt = performance.now();
  const child = startTarget(target, PORT);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  try {
    const readyMs = await waitUntilReady(target, PORT, spawnedAt, singleBody);
    notes.push(`${target.name}: ready ${readyMs.toFixed(0)} ms after spawn`);
    const pid = child.pid!;
    await runClosedLoop({ port: PORT, path: '/predict', body: singleBody, connections: 16, durationS: 2 }); // warm-up

    for (const connections of CONNECTIONS) {
      const m = await measured(pid, () => runClosedLoop({ port: PORT, path: '/predict', body: singleBody, connections, durationS: DURATION_S }));
      rows.push({
        target: target.name, scenario: `closed loop, ${connections} conn`, requestsPerSecond: m.result.requestsPerSecond,
        p50Ms: m.result.p50Ms, p99Ms: m.result.p99Ms, p999Ms: m.result.p999Ms, errors: m.result.errors, requests: m.result.requests,
        serverCpuCores: m.cpuCores, serverRssMb: m.rssMb, maxWorkerRssMb: m.maxWorkerRssMb,
      });
      printRow(rows.at(-1)!);
    }
    for (const rate of OPEN_LOOP_RATES) {
      const m = await measured(pid, () => runOpenLoop({ port: PORT, path: '/predict', body: singleBody, rate, durationS: DURATION_S }));
      const r = m.result;
      rows.push({
        target: target.name, scenario: `open loop, ${rate} req/s`, requestsPerSecond: r.achievedRate,
        p50Ms: percentile(r.latenciesMs, 50), p99Ms: percentile(r.latenciesMs, 99), p999Ms: percentile(r.latenciesMs, 99.9),
        errors: r.errors, requests: r.completed, serverCpuCores: m.cpuCores, serverRssMb: m.rssMb, maxWorkerRssMb: m.maxWorkerRssMb,
      });
      printRow(rows.at(-1)!);
    }
    if (target.isService) {
      for (const size of BATCH_SIZES) {
        const body = batchBody(size);
        const count = size >= 1000 ? 300 : 1000;
        const m = await measured(pid, () => runFixedCount({ port: PORT, path: '/predict', body, count, connections: 1 }));
        const r = m.result;
        const timings = Float64Array.from(r.serverTimingsMs).sort();
        rows.push({
          target: target.name, scenario: `batch of ${size}, 1 conn`, requestsPerSecond: count / r.elapsedS, rowsPerSecond: (count * size) / r.elapsedS,
          p50Ms: percentile(r.latenciesMs, 50), p99Ms: percentile(r.latenciesMs, 99), p999Ms: percentile(r.latenciesMs, 99.9),
          serverTimeP50Ms: timings.length > 0 ? percentile(timings, 50) : null,
          errors: r.errors, requests: count, serverCpuCores: m.cpuCores, serverRssMb: m.rssMb, maxWorkerRssMb: m.maxWorkerRssMb,
        });
        printRow(rows.at(-1)!);
      }
      await soak(target, pid);
    }
  } catch (error) {
    notes.push(`${target.name} failed: ${(error as Error).message}`);
    console.log(`!! ${target.name} failed: ${(error as Error).message}\n${stderr}`);
  } finally {
    await stopTarget(child);
  }
}

/** 100,000 requests in chunks of 10,000: RSS per worker after the first and after the last chunk. */
async function soak(target: Target, pid: number): Promise<void> {
  const rssAfterChunk: number[] = [];
  let errors = 0;
  for (let sent = 0; sent < SOAK_REQUESTS; sent += SOAK_CHUNK) {
    const r = await runFixedCount({ port: PORT, path: '/predict', body: singleBody, count: SOAK_CHUNK, connections: 16 });
    errors += r.errors;
    rssAfterChunk.push((treeStats(pid).rssPerProcess[0] ?? 0) / 2 ** 20);
  }
  const first = rssAfterChunk[0];
  const last = rssAfterChunk.at(-1)!;
  notes.push(
    `${target.name}: soak of ${SOAK_REQUESTS} requests, ${errors} errors; largest process RSS ${first.toFixed(1)} MB after the first 10k, ` +
      `${last.toFixed(1)} MB after the last (growth ${(last - first).toFixed(1)} MB); per chunk: ${rssAfterChunk.map((v) => v.toFixed(0)).join(', ')}`,
  );
}


/**
 * Monitoring's cost: one worker, 16 connections, monitoring on and off started together and measured in
 * turns (the order alternating each round), so both see the same machine load; the median of each is
 * reported. Then both get 200 batches of 1,000 trips (200,000 rides, a full default prediction log) and
 * their RSS is read.
 */
async function monitoringCost(rounds: number): Promise<void> {
  const variants = [
    serviceTarget(1, false, { label: 'monitoring on', env: { MONITORING: 'true' } }),
    serviceTarget(1, false, { label: 'monitoring off', env: { MONITORING: 'false' } }),
  ];
  const ports = [PORT + 10, PORT + 11];
  const children = variants.map((t, i) => startTarget(t, ports[i]));
  try {
    const t0 = performance.now();
    await Promise.all(variants.map((t, i) => waitUntilReady(t, ports[i], t0, singleBody)));
    for (const port of ports) await runClosedLoop({ port, path: '/predict', body: singleBody, connections: 16, durationS: 2 });
    const rps: number[][] = [[], []];
    const p99: number[][] = [[], []];
    const cpu: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const { result: m, cpuCores } = await measured(children[i].pid!, () =>
          runClosedLoop({ port: ports[i], path: '/predict', body: singleBody, connections: 16, durationS: DURATION_S }),
        );
        cpu[i].push(cpuCores);
        rps[i].push(m.requestsPerSecond);
        p99[i].push(m.p99Ms);
        console.log(
          `${variants[i].name.padEnd(40)} round ${r + 1}: ${fmt(m.requestsPerSecond, 0)} req/s, p99 ${fmt(m.p99Ms, 3)} ms, ` +
            `server CPU ${fmt((1e6 * cpuCores) / m.requestsPerSecond, 0)} µs/request, errors ${m.errors}`,
        );
      }
    }
    const median = (v: number[]) => Float64Array.from(v).sort()[v.length >> 1];
    const body = batchBody(1000);
    const rss: number[] = [];
    for (let i = 0; i < 2; i++) {
      await runFixedCount({ port: ports[i], path: '/predict', body, count: 200, connections: 2 });
      rss.push(treeStats(children[i].pid!).rssBytes / 2 ** 20);
    }
    for (let i = 0; i < 2; i++) {
      rows.push({
        target: variants[i].name, scenario: `closed loop, 16 conn, median of ${rounds}`, requestsPerSecond: median(rps[i]),
        p50Ms: null, p99Ms: median(p99[i]), p999Ms: null, errors: 0, requests: 0, serverCpuCores: median(cpu[i]), serverRssMb: rss[i], maxWorkerRssMb: rss[i],
      });
    }
    const drop = 1 - median(rps[0]) / median(rps[1]);
    // why CPU per request too: on a shared machine req/s swings with the neighbours; CPU time per request much less.
    const cpuPerRequest = (i: number) => median(cpu[i].map((c, k) => (1e6 * c) / rps[i][k]));
    notes.push(
      `monitoring cost (1 worker, 16 conn, ${rounds} interleaved rounds of ${DURATION_S} s): on ${rps[0].map((v) => v.toFixed(0)).join(', ')} req/s; ` +
        `off ${rps[1].map((v) => v.toFixed(0)).join(', ')} req/s; medians ${median(rps[0]).toFixed(0)} vs ${median(rps[1]).toFixed(0)}: ` +
        `${(100 * drop).toFixed(1)} % fewer req/s with monitoring; server CPU per request (median) ${cpuPerRequest(0).toFixed(0)} µs on, ` +
        `${cpuPerRequest(1).toFixed(0)} µs off; RSS after 200,000 logged rides ${rss[0].toFixed(0)} MB on, ${rss[1].toFixed(0)} MB off`,
    );
    console.log(notes.at(-1));
  } finally {
    await Promise.all(children.map(stopTarget));
  }
}

function printRow(r: BenchRow): void {
  console.log(
    `${r.target.padEnd(28)} ${r.scenario.padEnd(24)} ${fmt(r.requestsPerSecond, 0).padStart(8)} req/s` +
      `${r.rowsPerSecond ? ` (${fmt(r.rowsPerSecond, 0)} rows/s)` : ''}  p50 ${fmt(r.p50Ms, 3)}  p99 ${fmt(r.p99Ms, 3)}  p99.9 ${fmt(r.p999Ms, 3)} ms` +
      `${r.serverTimeP50Ms != null ? `  server p50 ${fmt(r.serverTimeP50Ms, 3)} ms` : ''}  errors ${r.errors}  cpu ${fmt(r.serverCpuCores)}  rss ${fmt(r.serverRssMb, 0)} MB`,
  );
}

async function main(): Promise<void> {
  try {
    execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
  } catch {
    console.error('npm run bench needs wrk: apt-get install -y wrk (and gunicorn python3-flask python3-sklearn for the Python peer)');
    process.exit(1);
  }
  const only = process.env.BENCH_TARGETS?.toLowerCase();
  for (const target of TARGETS) {
    if (only && !only.split(',').some((f) => target.name.toLowerCase().includes(f.trim()))) continue;
    await benchTarget(target);
  }
  const rounds = Number(process.env.BENCH_MONITORING_ROUNDS ?? 0);
  if (rounds > 0) await monitoringCost(rounds);
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
  const table = renderResultsTable(rows);
  console.log(`\n${machine}\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}`);
  const resultsDir = path.resolve(import.meta.dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = { date: new Date().toISOString(), machine, durationPerStepS: DURATION_S, rows, notes, markdown: table };
  writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2));
  console.log(`\nwrote bench/results/bench-${stamp}.json and latest.json; npm run docs:perf puts the table in docs/performance.md`);
}

await main();
