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
}

/** bench/results/latest.json. */
export interface BenchReport {
  date: string;
  machine: string;
  durationPerStepS: number;
  rows: BenchRow[];
  notes: string[];
  markdown?: string;
}

export const PERF_TABLE_START = '<!-- perf-table:start -->';
export const PERF_TABLE_END = '<!-- perf-table:end -->';

const repoRoot = path.resolve(import.meta.dirname, '..');
export const LATEST_JSON = path.join(repoRoot, 'bench/results/latest.json');
export const PERFORMANCE_MD = path.join(repoRoot, 'docs/performance.md');

/** A figure with `digits` decimals, or `-` when it was not measured. */
export const fmt = (v: number | null | undefined, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** The results table: one line per measured step, in the order they ran. */
export function renderResultsTable(rows: readonly BenchRow[]): string {
  const header = '| target | scenario | req/s | rows/s | p50 ms | p99 ms | p99.9 ms | server p50 ms | errors | server CPU (cores) | server RSS MB |';
  const lines = rows.map(
    (r) =>
      `| ${r.target} | ${r.scenario} | ${fmt(r.requestsPerSecond, 0)} | ${r.rowsPerSecond ? fmt(r.rowsPerSecond, 0) : ''} | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ` +
      `${fmt(r.p999Ms, 3)} | ${fmt(r.serverTimeP50Ms, 3)} | ${r.errors} | ${fmt(r.serverCpuCores)} | ${fmt(r.serverRssMb, 0)} |`,
  );
  return [header, `|${'---|'.repeat(11)}`, ...lines].join('\n');
}

/** What goes between the markers: when and where it was measured, the table, and the run's notes. */
export function renderPerfRegion(report: BenchReport): string {
  const when = report.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return [
    `Run finished ${when}; ${report.machine}; ${report.durationPerStepS} s per step.`,
    '',
    renderResultsTable(report.rows),
    '',
    ...report.notes.map((n) => `- ${n}`),
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
  return doc.slice(start + PERF_TABLE_START.length, end).replace(/^\n/, '').replace(/\n$/, '');
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
