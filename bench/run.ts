/**
 * `npm run bench`: the service (batching adaptive, the default; batching off; two workers), the
 * machine's limit (bare node:http), the framework's limit (bare Express) and the course's Python
 * service, under the same load in one run on this machine. Every row is also shown as a ratio to each
 * baseline in the same scenario, and the performance targets are judged from the same run. A benchmark,
 * not a test: it asserts nothing.
 *
 * All targets are started first (each one alone, to time its start-up) and stay up; then every
 * scenario runs against every target back to back, in `ROUNDS` rounds whose target order rotates, so
 * the rows that are compared were measured seconds apart under the same machine conditions, and a
 * burst of noise from the shared machine lands in one round rather than on one target.
 *
 * Writes bench/results/latest.json only for a complete run (every non-optional target measured, no
 * BENCH_TARGETS filter); anything else goes to bench/results/partial-<stamp>.json. Either way it prints
 * and stores the changes against the previous committed latest.json.
 *
 * BENCH_DURATION_S (default 3) sets the length of each measured step, BENCH_ROUNDS (default 3) how
 * many times each step runs; BENCH_TARGETS filters targets by name. A machine already busy at the start
 * (1-minute load average above BUSY_LOAD) makes the run partial too, unless BENCH_ALLOW_BUSY=1.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFixedCount } from './lib/fixed-count.js';
import { percentile, runOpenLoop } from './lib/open-loop.js';
import { pauseTrees, treeDuring, treeStats } from './lib/process-stats.js';
import { freePort, startTarget, stopTarget, TARGETS, type Target, waitUntilReady } from './lib/targets.js';
import { runClosedLoop } from './lib/wrk.js';
import {
  type BenchReport,
  type BenchRow,
  compareReports,
  fmt,
  renderChecks,
  renderDeltas,
  renderResultsTable,
  type TargetReport,
} from './report-table.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = [1, 16, 64];
const OPEN_LOOP_RATES = [500, 1000, 2000];
const BATCH_SIZES = [100, 1000];
const SOAK_REQUESTS = 100_000;
const SOAK_CHUNK = 10_000;
/** On 2 cores, a 1-minute load average above this means someone else's work is in every figure. */
const BUSY_LOAD = 1.5;

const repoRoot = path.resolve(import.meta.dirname, '..');
const resultsDir = path.join(repoRoot, 'bench/results');
const trip = { PULocationID: 10, DOLocationID: 50, trip_distance: 40 };
const singleBody = JSON.stringify(trip);

interface Running {
  target: Target;
  report: TargetReport;
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

function batchBody(size: number): string {
  const trips = Array.from({ length: size }, (_, i) => ({
    PULocationID: 1 + (i % 265),
    DOLocationID: 1 + ((i * 7) % 265),
    trip_distance: (i % 300) / 10,
    pickup_datetime: '2021-03-01T08:30:00',
  }));
  return JSON.stringify({ trips });
}

type Stats = Pick<BenchRow, 'serverCpuCores' | 'serverRssMb' | 'maxWorkerRssMb'>;

async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; stats: Stats }> {
  const { result, cpuSeconds, wallSeconds, after } = await treeDuring(pid, work);
  return {
    result,
    stats: {
      serverCpuCores: cpuSeconds / wallSeconds,
      serverRssMb: after.rssBytes / 2 ** 20,
      maxWorkerRssMb: (after.rssPerProcess[0] ?? 0) / 2 ** 20,
    },
  };
}

/** One scenario: how to measure one target once, and which figure picks the median round. */
interface Scenario {
  name: string;
  forServiceOnly: boolean;
  openLoop: boolean;
  /** Closed loop: req/s (higher is better); open loop: p99 (lower is better). */
  key: (row: BenchRow) => number;
  measure: (r: Running) => Promise<BenchRow>;
}

const closedLoop = (connections: number): Scenario => ({
  name: `closed loop, ${connections} conn`,
  forServiceOnly: false,
  openLoop: false,
  key: (row) => row.requestsPerSecond ?? 0,
  measure: async ({ target, port, child }) => {
    const { result: w, stats } = await measured(child.pid!, () =>
      runClosedLoop({ port, path: '/predict', body: singleBody, connections, durationS: DURATION_S }),
    );
    return {
      target: target.name,
      scenario: `closed loop, ${connections} conn`,
      requestsPerSecond: w.requestsPerSecond,
      p50Ms: w.p50Ms,
      p99Ms: w.p99Ms,
      p999Ms: w.p999Ms,
      errors: w.errors,
      requests: w.requests,
      ...stats,
    };
  },
});

const openLoop = (rate: number): Scenario => ({
  name: `open loop, ${rate} req/s`,
  forServiceOnly: false,
  openLoop: true,
  key: (row) => row.p99Ms ?? Number.POSITIVE_INFINITY,
  measure: async ({ target, port, child }) => {
    const { result: r, stats } = await measured(child.pid!, () =>
      runOpenLoop({ port, path: '/predict', body: singleBody, rate, durationS: DURATION_S }),
    );
    return {
      target: target.name,
      scenario: `open loop, ${rate} req/s`,
      requestsPerSecond: r.achievedRate,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
      p999Ms: percentile(r.latenciesMs, 99.9),
      sendLagP99Ms: percentile(r.sendLagMs, 99),
      errors: r.errors,
      requests: r.completed,
      ...stats,
    };
  },
});

const batch = (size: number): Scenario => ({
  name: `batch of ${size}, 1 conn`,
  forServiceOnly: true,
  openLoop: false,
  key: (row) => row.requestsPerSecond ?? 0,
  measure: async ({ target, port, child }) => {
    const body = batchBody(size);
    const count = Math.round((size >= 1000 ? 300 : 1000) * Math.min(1, DURATION_S / 5));
    const { result: r, stats } = await measured(child.pid!, () => runFixedCount({ port, path: '/predict', body, count, connections: 1 }));
    const timings = Float64Array.from(r.serverTimingsMs).sort();
    return {
      target: target.name,
      scenario: `batch of ${size}, 1 conn`,
      requestsPerSecond: count / r.elapsedS,
      rowsPerSecond: (count * size) / r.elapsedS,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
      p999Ms: percentile(r.latenciesMs, 99.9),
      serverTimeP50Ms: timings.length > 0 ? percentile(timings, 50) : null,
      errors: r.errors,
      requests: count,
      ...stats,
    };
  },
});

const SCENARIOS: Scenario[] = [...CONNECTIONS.map(closedLoop), ...OPEN_LOOP_RATES.map(openLoop), ...BATCH_SIZES.map(batch)];

/** The round whose key figure is the median (the lower middle one for an even count). */
function medianRound(rounds: BenchRow[], key: (row: BenchRow) => number): BenchRow {
  const sorted = [...rounds].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Paused targets, continued if the bench is interrupted: a stopped process would never see its SIGINT. */
let resumePaused: (() => void) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    resumePaused?.();
    process.kill(process.pid, signal);
  });
}

/** Runs `work` with every other target stopped, so that only `r` and the load generator run (pauseTrees). */
async function alone<T>(r: Running, all: readonly Running[], work: () => Promise<T>): Promise<T> {
  const others = all.filter((o) => o !== r && o.child.exitCode === null && o.child.signalCode === null).map((o) => o.child.pid!);
  const resume = pauseTrees(others);
  resumePaused = resume;
  try {
    return await work();
  } finally {
    resume();
    resumePaused = undefined;
  }
}

/** 100,000 requests in chunks of 10,000: RSS of the largest process after each chunk. */
async function soak(r: Running): Promise<TargetReport['soak']> {
  const perChunkMb: number[] = [];
  let errors = 0;
  for (let sent = 0; sent < SOAK_REQUESTS; sent += SOAK_CHUNK) {
    const f = await runFixedCount({ port: r.port, path: '/predict', body: singleBody, count: SOAK_CHUNK, connections: 16 });
    errors += f.errors;
    perChunkMb.push((treeStats(r.child.pid!).rssPerProcess[0] ?? 0) / 2 ** 20);
  }
  return { requests: SOAK_REQUESTS, errors, firstMb: perChunkMb[0], lastMb: perChunkMb.at(-1)!, perChunkMb };
}

function printRow(r: BenchRow): void {
  console.log(
    `${r.target.padEnd(36)} ${r.scenario.padEnd(24)} ${fmt(r.requestsPerSecond, 0).padStart(8)} req/s` +
      `${r.rowsPerSecond ? ` (${fmt(r.rowsPerSecond, 0)} rows/s)` : ''}  p50 ${fmt(r.p50Ms, 3)}  p99 ${fmt(r.p99Ms, 3)}  p99.9 ${fmt(r.p999Ms, 3)} ms` +
      `${r.serverTimeP50Ms != null ? `  server p50 ${fmt(r.serverTimeP50Ms, 3)} ms` : ''}` +
      `${r.sendLagP99Ms != null ? `  client lag p99 ${fmt(r.sendLagP99Ms, 3)} ms` : ''}  errors ${r.errors}  cpu ${fmt(r.serverCpuCores)}  rss ${fmt(r.serverRssMb, 0)} MB`,
  );
}

/** The latest.json of the last commit (what this run compares with), or the file on disk outside git. */
function previousReport(): BenchReport | undefined {
  try {
    return JSON.parse(
      execFileSync('git', ['show', 'HEAD:bench/results/latest.json'], {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
  } catch {
    const file = path.join(resultsDir, 'latest.json');
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  }
}

async function startAll(targets: Target[], reports: TargetReport[]): Promise<Running[]> {
  const running: Running[] = [];
  for (const target of targets) {
    const report: TargetReport = { name: target.name, description: target.description };
    reports.push(report);
    const reason = target.unavailable();
    if (reason) {
      report.skipped = reason;
      console.log(`-- skipping ${target.name}: ${reason}`);
      continue;
    }
    console.log(`-- ${target.name}: ${target.description}`);
    const port = await freePort();
    const spawnedAt = performance.now();
    const child = startTarget(target, port);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    try {
      report.readyMs = await waitUntilReady(target, child, port, spawnedAt, singleBody);
      running.push({ target, report, child, port, stderr: () => stderr });
    } catch (error) {
      report.failed = (error as Error).message;
      console.log(`!! ${target.name} failed: ${report.failed}\n${stderr}`);
      await stopTarget(child);
    }
  }
  return running;
}

async function main(): Promise<void> {
  try {
    execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
  } catch {
    console.error('npm run bench needs wrk: apt-get install -y wrk (and gunicorn python3-flask python3-sklearn for the Python peer)');
    process.exit(1);
  }
  const runStarted = performance.now();
  const loadAtStart = os.loadavg()[0];
  const busy = loadAtStart > BUSY_LOAD && process.env.BENCH_ALLOW_BUSY !== '1';
  if (busy)
    console.log(
      `!! load average ${loadAtStart.toFixed(2)} > ${BUSY_LOAD}: the machine is busy; this run will be partial (BENCH_ALLOW_BUSY=1 to override)`,
    );
  const only = process.env.BENCH_TARGETS?.toLowerCase();
  const chosen = TARGETS.filter((t) => (only ? only.split(',').some((f) => t.name.toLowerCase().includes(f.trim())) : !t.optional));
  const targetReports: TargetReport[] = [];
  const running = await startAll(chosen, targetReports);
  const rows: BenchRow[] = [];
  try {
    for (const r of running) await runClosedLoop({ port: r.port, path: '/predict', body: singleBody, connections: 16, durationS: 2 }); // warm-up
    for (const scenario of SCENARIOS) {
      let alive = running.filter(
        (r) => !r.report.failed && (r.target.isService || !scenario.forServiceOnly) && !(scenario.openLoop && r.target.closedLoopOnly),
      );
      const rounds = new Map<Running, BenchRow[]>(alive.map((r) => [r, []]));
      const roundCount = scenario.forServiceOnly ? 1 : ROUNDS;
      for (let round = 0; round < roundCount; round++) {
        // why: rotate who goes first, so no target always follows the same neighbour's load.
        const order = alive.map((_, k) => alive[(k + round) % alive.length]);
        for (const r of order) {
          try {
            const row = await alone(r, running, () => scenario.measure(r));
            // why: a row counts only if the target itself was there the whole step to answer it.
            if (r.child.exitCode !== null || r.child.signalCode !== null)
              throw new Error(`exited (${r.child.exitCode ?? r.child.signalCode})`);
            rounds.get(r)!.push(row);
          } catch (error) {
            r.report.failed = `${scenario.name}: ${(error as Error).message}`;
            console.log(`!! ${r.target.name} failed in ${scenario.name}: ${(error as Error).message}\n${r.stderr()}`);
          }
        }
        alive = alive.filter((r) => !r.report.failed);
      }
      for (const r of alive) {
        const measuredRounds = rounds.get(r)!;
        const row = medianRound(measuredRounds, scenario.key);
        if (measuredRounds.length > 1) row.rounds = measuredRounds.map(scenario.key);
        rows.push(row);
        printRow(row);
      }
    }
    for (const r of running) {
      if (r.report.failed || !r.target.soak) continue;
      try {
        r.report.soak = await alone(r, running, () => soak(r));
      } catch (error) {
        r.report.failed = `soak: ${(error as Error).message}`;
      }
    }
  } finally {
    for (const r of running) await stopTarget(r.child);
  }
  // why: rows grouped by target, in the targets' order, as the table has always been read.
  rows.sort((a, b) => chosen.findIndex((t) => t.name === a.target) - chosen.findIndex((t) => t.name === b.target));

  const notes = targetReports.flatMap((t) => {
    const lines: string[] = [];
    if (t.skipped) lines.push(`skipped ${t.name}: ${t.skipped}`);
    if (t.failed) lines.push(`${t.name} failed: ${t.failed}`);
    if (t.readyMs !== undefined) lines.push(`${t.name}: ready ${t.readyMs.toFixed(0)} ms after spawn`);
    if (t.soak) {
      const s = t.soak;
      lines.push(
        `${t.name}: soak of ${s.requests} requests, ${s.errors} errors; largest process RSS ${s.firstMb.toFixed(1)} MB after the first 10k, ` +
          `${s.lastMb.toFixed(1)} MB after the last (growth ${(s.lastMb - s.firstMb).toFixed(1)} MB); per chunk: ${s.perChunkMb.map((v) => v.toFixed(0)).join(', ')}`,
      );
    }
    return lines;
  });
  for (const r of rows) {
    const lag = r.sendLagP99Ms != null ? `; the client's own send lag p99 ${fmt(r.sendLagP99Ms, 3)} ms` : '';
    if (r.rounds)
      notes.push(
        `${r.target}, ${r.scenario}: rounds ${r.rounds.map((v) => fmt(v, r.scenario.startsWith('open') ? 3 : 0)).join(', ')}${lag}`,
      );
    else if (lag) notes.push(`${r.target}, ${r.scenario}${lag}`);
  }
  const complete = !only && !busy && targetReports.every((t) => !t.skipped && !t.failed);
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
  const before = previousReport();
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: `${machine}; 1-minute load average ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end`,
    durationPerStepS: DURATION_S,
    roundsPerStep: ROUNDS,
    totalRunS: Math.round((performance.now() - runStarted) / 1000),
    complete,
    rows,
    notes,
    targets: targetReports,
    ...(before ? { previous: { date: before.date, deltas: compareReports(before, rows) } } : {}),
  };
  report.markdown = renderResultsTable(rows);
  console.log(`\n${report.machine}\n\n${report.markdown}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\n${renderChecks(report)}`);
  if (report.previous) console.log(`\n${renderDeltas(report.previous)}`);

  mkdirSync(resultsDir, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  const json = JSON.stringify(report, null, 2);
  if (complete) {
    writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), json);
    writeFileSync(path.join(resultsDir, 'latest.json'), json);
    console.log(
      `\nwrote bench/results/latest.json (and bench-${stamp}.json) in ${report.totalRunS} s; npm run docs:perf puts it in docs/performance.md`,
    );
  } else {
    writeFileSync(path.join(resultsDir, `partial-${stamp}.json`), json);
    const why = only
      ? 'BENCH_TARGETS was set'
      : busy
        ? `the machine was busy at the start (load ${loadAtStart.toFixed(2)})`
        : 'a target was skipped or failed';
    console.log(`\npartial run (${why}): wrote bench/results/partial-${stamp}.json in ${report.totalRunS} s; latest.json unchanged`);
  }
}

await main();
