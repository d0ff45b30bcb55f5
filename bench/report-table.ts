/**
 * The benchmark's results as markdown: the table `npm run bench` prints, and the region of
 * docs/performance.md between the perf-table markers, rendered from bench/results/latest.json.
 *
 * `npm run docs:perf` rewrites that region from the committed JSON, so the docs never hold figures the
 * JSON does not (tests/docs/performance-table.test.ts checks they agree).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** One measured step, as bench/run.ts records it. */
export interface BenchRow {
  target: string;
  scenario: string;
  requestsPerSecond: number | null;
  rowsPerSecond?: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  serverTimeP50Ms?: number | null;
  errors: number;
  requests: number;
  serverCpuCores: number;
  serverRssMb: number;
  maxWorkerRssMb: number;
  /** With several rounds: each round's key figure (req/s closed loop, p99 open loop); the row is the median round. */
  rounds?: number[];
  /** Open loop: the client's own lateness at p99 (ms after the scheduled send time). */
  sendLagP99Ms?: number;
}

/** Per target: start-up and, for the service, the memory soak. */
export interface TargetReport {
  name: string;
  description: string;
  readyMs?: number;
  soak?: { requests: number; errors: number; firstMb: number; lastMb: number; perChunkMb: number[] };
  skipped?: string;
  failed?: string;
}

/** One figure against the previous committed latest.json. */
export interface Delta {
  target: string;
  scenario: string;
  metric: 'req/s' | 'p99 ms' | 'server p50 ms';
  before: number;
  after: number;
}

/** bench/results/latest.json. */
export interface BenchReport {
  date: string;
  machine: string;
  durationPerStepS: number;
  rows: BenchRow[];
  notes: string[];
  markdown?: string;
  /** Reports from before the ratio columns lack the fields below. */
  complete?: boolean;
  roundsPerStep?: number;
  totalRunS?: number;
  targets?: TargetReport[];
  previous?: { date: string; deltas: Delta[] };
}

export const BASELINES = [
  { name: 'bare node:http', short: 'node:http' },
  { name: 'bare Express 5', short: 'Express' },
  { name: 'zoomcamp Flask (2 workers)', short: 'Flask' },
] as const;

export const SERVICE_1 = 'service (WORKERS=1)';
export const SERVICE_1_OFF = 'service (WORKERS=1, BATCHING=off)';
export const SERVICE_2 = 'service (WORKERS=2)';
export const SERVICE_1_NO_MONITORING = 'service (WORKERS=1, MONITORING=false)';
export const SERVICE_1_SHADOW = 'service (WORKERS=1, shadow challenger)';

const isOpenLoop = (scenario: string) => scenario.startsWith('open loop');

function findRow(rows: readonly BenchRow[], target: string, scenario: string): BenchRow | undefined {
  return rows.find((r) => r.target === target && r.scenario === scenario);
}

/**
 * `row` against `baseline` in the same scenario: req/s ÷ req/s in a closed loop (higher is better),
 * p99 ÷ p99 in an open loop (the offered rate is fixed, so latency is what differs; lower is better).
 */
export function ratio(row: BenchRow | undefined, baseline: BenchRow | undefined): number | undefined {
  if (row === undefined || baseline === undefined) return undefined;
  const [a, b] = isOpenLoop(row.scenario) ? [row.p99Ms, baseline.p99Ms] : [row.requestsPerSecond, baseline.requestsPerSecond];
  return a == null || b == null || b === 0 ? undefined : a / b;
}

const times = (v: number | undefined) => (v === undefined ? '' : `${v.toFixed(2)}×`);

export const PERF_TABLE_START = '<!-- perf-table:start -->';
export const PERF_TABLE_END = '<!-- perf-table:end -->';

const repoRoot = path.resolve(import.meta.dirname, '..');
export const LATEST_JSON = path.join(repoRoot, 'bench/results/latest.json');
export const PERFORMANCE_MD = path.join(repoRoot, 'docs/performance.md');

/** A figure with `digits` decimals, or `-` when it was not measured. */
export const fmt = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);

/** The results table: one line per measured step, in the order they ran. */
export function renderResultsTable(rows: readonly BenchRow[]): string {
  const header =
    '| target | scenario | req/s | rows/s | p50 ms | p99 ms | p99.9 ms | server p50 ms | errors | server CPU (cores) | server RSS MB |' +
    ` ${BASELINES.map((b) => `vs ${b.short}`).join(' | ')} |`;
  const lines = rows.map((r) => {
    const ratios = BASELINES.map((b) => (r.target === b.name ? '' : times(ratio(r, findRow(rows, b.name, r.scenario)))));
    return (
      `| ${r.target} | ${r.scenario} | ${fmt(r.requestsPerSecond, 0)} | ${r.rowsPerSecond ? fmt(r.rowsPerSecond, 0) : ''} | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ` +
      `${fmt(r.p999Ms, 3)} | ${fmt(r.serverTimeP50Ms, 3)} | ${r.errors} | ${fmt(r.serverCpuCores)} | ${fmt(r.serverRssMb, 0)} | ${ratios.join(' | ')} |`
    );
  });
  return [header, `|${'---|'.repeat(11 + BASELINES.length)}`, ...lines].join('\n');
}

interface Check {
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** The performance targets, judged from one report's rows (so from one run). */
export function evaluateChecks(report: BenchReport): Check[] {
  const { rows } = report;
  const row = (t: string, s: string) => findRow(rows, t, s);
  const node = BASELINES[0].name;
  const express = BASELINES[1].name;
  const flask = BASELINES[2].name;
  const atLeast = (target: string, a: BenchRow | undefined, b: BenchRow | undefined, k: number, what: string): Check => {
    const r = ratio(a, b);
    return r === undefined
      ? { target, measured: `not measured in this run (${what})`, met: undefined }
      : { target, measured: `${fmt(a!.requestsPerSecond, 0)} vs ${fmt(b!.requestsPerSecond, 0)} req/s (${r.toFixed(2)}×)`, met: r >= k };
  };
  const p99Within = (target: string, service: string): Check => {
    const s = row(service, 'open loop, 2000 req/s');
    const b = row(node, 'open loop, 2000 req/s');
    const r = ratio(s, b);
    return r === undefined
      ? { target, measured: 'not measured in this run', met: undefined }
      : { target, measured: `${fmt(s!.p99Ms, 2)} vs ${fmt(b!.p99Ms, 2)} ms (${r.toFixed(2)}×)`, met: r <= 2 };
  };
  const checks: Check[] = [
    atLeast(
      '`WORKERS=1`, 16 conn ≥ 0.5× bare node:http',
      row(SERVICE_1, 'closed loop, 16 conn'),
      row(node, 'closed loop, 16 conn'),
      0.5,
      'service or node:http',
    ),
    atLeast(
      '`WORKERS=1`, 1 conn ≥ 0.95× `BATCHING=off`',
      row(SERVICE_1, 'closed loop, 1 conn'),
      row(SERVICE_1_OFF, 'closed loop, 1 conn'),
      0.95,
      'no BATCHING=off target',
    ),
    atLeast(
      '`WORKERS=2`, 16 conn ≥ 4× the Flask peer',
      row(SERVICE_2, 'closed loop, 16 conn'),
      row(flask, 'closed loop, 16 conn'),
      4,
      'service or Flask',
    ),
    atLeast(
      '`WORKERS=2`, 16 conn ≥ 3× the Flask peer',
      row(SERVICE_2, 'closed loop, 16 conn'),
      row(flask, 'closed loop, 16 conn'),
      3,
      'service or Flask',
    ),
    atLeast(
      '`WORKERS=1`, 16 conn ≥ 1.3× bare Express',
      row(SERVICE_1, 'closed loop, 16 conn'),
      row(express, 'closed loop, 16 conn'),
      1.3,
      'service or Express',
    ),
    p99Within('`WORKERS=1`, p99 at 2,000 req/s open loop ≤ 2× bare node:http', SERVICE_1),
    p99Within('`WORKERS=2`, p99 at 2,000 req/s open loop ≤ 2× bare node:http', SERVICE_2),
  ];
  checks.push(
    atLeast(
      'Monitoring on (default) vs `MONITORING=false`, 16 conn: ≥ 0.9×',
      row(SERVICE_1, 'closed loop, 16 conn'),
      row(SERVICE_1_NO_MONITORING, 'closed loop, 16 conn'),
      0.9,
      'no MONITORING=false target',
    ),
    atLeast(
      'Shadow challenger vs none, 16 conn: ≥ 0.65× (at most 35 % lower)',
      row(SERVICE_1_SHADOW, 'closed loop, 16 conn'),
      row(SERVICE_1, 'closed loop, 16 conn'),
      0.65,
      'no shadow target',
    ),
  );
  {
    const s = row(SERVICE_1_SHADOW, 'open loop, 1000 req/s');
    const b = row(SERVICE_1, 'open loop, 1000 req/s');
    const r = ratio(s, b);
    checks.push(
      r === undefined
        ? {
            target: 'Shadow challenger vs none, p99 at 1,000 req/s open loop: ≤ 1.2×',
            measured: 'not measured in this run',
            met: undefined,
          }
        : {
            target: 'Shadow challenger vs none, p99 at 1,000 req/s open loop: ≤ 1.2×',
            measured: `${fmt(s!.p99Ms, 2)} vs ${fmt(b!.p99Ms, 2)} ms (${r.toFixed(2)}×)`,
            met: r <= 1.2,
          },
    );
  }
  for (const service of [SERVICE_1, SERVICE_2]) {
    const b = row(service, 'batch of 1000, 1 conn');
    const ms = b?.serverTimeP50Ms;
    checks.push({
      target: `\`${service.slice(9, -1)}\`, batch of 1,000 trips ≤ 5 ms server time (p50)`,
      measured: ms == null ? 'not measured in this run' : `${ms.toFixed(2)} ms`,
      met: ms == null ? undefined : ms <= 5,
    });
  }
  for (const t of report.targets ?? []) {
    if (t.soak !== undefined) {
      checks.push({
        target: `${t.name}: RSS ≤ 150 MB per worker after ${t.soak.requests.toLocaleString('en-US')} requests`,
        measured: `largest process ${t.soak.lastMb.toFixed(1)} MB (${t.soak.firstMb.toFixed(1)} MB after the first 10k), ${t.soak.errors} errors`,
        met: t.soak.lastMb <= 150 && t.soak.errors === 0,
      });
    }
  }
  for (const t of report.targets ?? []) {
    if (t.readyMs !== undefined && t.name.startsWith('service')) {
      checks.push({ target: `${t.name}: ready ≤ 1 s after spawn`, measured: `${t.readyMs.toFixed(0)} ms`, met: t.readyMs <= 1000 });
    }
  }
  return checks;
}

/** Spread of bare node:http's rounds (max − min over the median) above which a run's machine counts as unsteady. */
export const STEADY_SPREAD = 0.15;

/**
 * How steady the machine was during the run, from bare node:http's rounds at 16 connections; undefined
 * without rounds. why: neighbours slow the bare server more than the service, so on a disturbed run the
 * ratios against node:http read high (docs/performance.md, the table of complete runs).
 */
export function machineSteadiness(rows: readonly BenchRow[]): string | undefined {
  const node = findRow(rows, BASELINES[0].name, 'closed loop, 16 conn');
  // the row is the median round, so its req/s is the rounds' median
  const median = node?.requestsPerSecond;
  const rounds = node?.rounds;
  if (median == null || rounds === undefined || rounds.length < 2) return undefined;
  const spread = (Math.max(...rounds) - Math.min(...rounds)) / median;
  const measured = `bare node:http's rounds at 16 connections spread ${Math.round(spread * 100)} % (max − min over the median)`;
  return spread <= STEADY_SPREAD
    ? `The machine was steady: ${measured}, at most ${STEADY_SPREAD * 100} %.`
    : `**The machine was not steady**: ${measured}, over ${STEADY_SPREAD * 100} %. The ratios against node:http measure the neighbours too, and read high: a slowed machine slows the bare server more than the service.`;
}

/** The targets' verdicts, after the line that says whether the machine was steady (when the run has rounds). */
export function renderChecks(report: BenchReport): string {
  const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'yes' : '**no**');
  const steadiness = machineSteadiness(report.rows);
  return [
    ...(steadiness === undefined ? [] : [steadiness, '']),
    '| Target | Measured (this run) | Met? |',
    '|---|---|---|',
    ...evaluateChecks(report).map((c) => `| ${c.target} | ${c.measured} | ${verdict(c.met)} |`),
  ].join('\n');
}

/** Against the previous committed result: only figures that both runs measured. */
export function renderDeltas(previous: NonNullable<BenchReport['previous']>): string {
  if (previous.deltas.length === 0) return `No figure in common with the previous result (${previous.date}).`;
  const pct = (d: Delta) => `${d.after >= d.before ? '+' : ''}${(((d.after - d.before) / d.before) * 100).toFixed(0)} %`;
  return [
    `Against the previous committed result (${previous.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}):`,
    '',
    '| target | scenario | figure | before | after | change |',
    '|---|---|---|---|---|---|',
    ...previous.deltas.map(
      (d) =>
        `| ${d.target} | ${d.scenario} | ${d.metric} | ${fmt(d.before, d.metric === 'req/s' ? 0 : 3)} | ${fmt(d.after, d.metric === 'req/s' ? 0 : 3)} | ${pct(d)} |`,
    ),
  ].join('\n');
}

/** Deltas of `current` against `previous`: req/s and p99 of every row both hold, and the batch server time. */
export function compareReports(previous: BenchReport, current: readonly BenchRow[]): Delta[] {
  const deltas: Delta[] = [];
  for (const r of current) {
    const p = findRow(previous.rows, r.target, r.scenario);
    if (p === undefined) continue;
    const add = (metric: Delta['metric'], before: number | null | undefined, after: number | null | undefined) => {
      if (before != null && after != null && before > 0) deltas.push({ target: r.target, scenario: r.scenario, metric, before, after });
    };
    if (!isOpenLoop(r.scenario)) add('req/s', p.requestsPerSecond, r.requestsPerSecond);
    add('p99 ms', p.p99Ms, r.p99Ms);
    add('server p50 ms', p.serverTimeP50Ms, r.serverTimeP50Ms);
  }
  return deltas;
}

/** What goes between the markers: when and where it was measured, the table, and the run's notes. */
export function renderPerfRegion(report: BenchReport): string {
  const when = report.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const rounds = report.roundsPerStep && report.roundsPerStep > 1 ? `, ${report.roundsPerStep} rounds per step (median round shown)` : '';
  const total = report.totalRunS ? `; the whole run took ${(report.totalRunS / 60).toFixed(1)} min` : '';
  return [
    `Run finished ${when}; ${report.machine}; ${report.durationPerStepS} s per step${rounds}${total}.`,
    '',
    renderResultsTable(report.rows),
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
    renderChecks(report),
    ...(report.previous ? ['', renderDeltas(report.previous)] : []),
  ].join('\n');
}

/** `doc` with the region between the markers replaced; throws when the markers are missing. */
export function replacePerfRegion(doc: string, region: string): string {
  const start = doc.indexOf(PERF_TABLE_START);
  const end = doc.indexOf(PERF_TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/performance.md lacks ${PERF_TABLE_START} … ${PERF_TABLE_END}`);
  return `${doc.slice(0, start + PERF_TABLE_START.length)}\n${region}\n${doc.slice(end)}`;
}

/** The region as it stands in `doc`, or undefined without markers. */
export function extractPerfRegion(doc: string): string | undefined {
  const start = doc.indexOf(PERF_TABLE_START);
  const end = doc.indexOf(PERF_TABLE_END);
  if (start < 0 || end < start) return undefined;
  return doc
    .slice(start + PERF_TABLE_START.length, end)
    .replace(/^\n/, '')
    .replace(/\n$/, '');
}

export function readReport(file = LATEST_JSON): BenchReport {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
}

// why: bench/run.ts imports the table renderer; only `tsx bench/report-table.ts` rewrites the docs.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const doc = readFileSync(PERFORMANCE_MD, 'utf8');
  const next = replacePerfRegion(doc, renderPerfRegion(readReport()));
  if (next === doc) {
    console.log('docs/performance.md is up to date with bench/results/latest.json');
  } else {
    writeFileSync(PERFORMANCE_MD, next);
    console.log('rewrote the results table in docs/performance.md from bench/results/latest.json');
  }
}
