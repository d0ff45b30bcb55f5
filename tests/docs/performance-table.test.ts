import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  type BenchReport,
  type BenchRow,
  compareReports,
  evaluateChecks,
  extractPerfRegion,
  machineSteadiness,
  PERFORMANCE_MD,
  readReport,
  renderPerfRegion,
  renderResultsTable,
} from '../../bench/report-table.js';

const row = (target: string, scenario: string, requestsPerSecond: number, p99Ms: number): BenchRow => ({
  target,
  scenario,
  requestsPerSecond,
  p50Ms: 1,
  p99Ms,
  p999Ms: 2 * p99Ms,
  errors: 0,
  requests: 100,
  serverCpuCores: 1,
  serverRssMb: 100,
  maxWorkerRssMb: 100,
});

function report(rows: BenchRow[]): BenchReport {
  return { date: '2026-12-01T00:00:00.000Z', machine: 'test', durationPerStepS: 3, rows, notes: [] };
}

describe('docs/performance.md results', () => {
  test('When the docs are read, then the results region is what bench/report-table.ts renders from the committed latest.json', () => {
    const region = extractPerfRegion(readFileSync(PERFORMANCE_MD, 'utf8'));

    // To fix after a bench run: npm run docs:perf, then commit latest.json and docs/performance.md together.
    expect(region).toBe(renderPerfRegion(readReport()));
  });

  test('When rows are rendered, then closed-loop rows show req/s and open-loop rows p99 as ratios to each baseline in the same scenario', () => {
    const table = renderResultsTable([
      row('service (WORKERS=1)', 'closed loop, 16 conn', 6000, 5),
      row('service (WORKERS=1)', 'open loop, 2000 req/s', 2000, 3),
      row('bare node:http', 'closed loop, 16 conn', 12000, 4),
      row('bare node:http', 'open loop, 2000 req/s', 2000, 2),
      row('bare Express 5', 'closed loop, 16 conn', 4000, 9),
    ]);
    const line = (start: string) =>
      table
        .split('\n')
        .find((l) => l.startsWith(start))!
        .split('|')
        .slice(-4, -1)
        .map((cell) => cell.trim());

    expect(line('| service (WORKERS=1) | closed loop, 16 conn')).toEqual(['0.50×', '1.50×', '']);
    expect(line('| service (WORKERS=1) | open loop, 2000 req/s')).toEqual(['1.50×', '', '']);
    expect(line('| bare node:http | closed loop, 16 conn')).toEqual(['', '3.00×', '']);
  });

  test('When a run misses its ratio targets, then the checks say no, and say not measured for what the run lacks', () => {
    const checks = evaluateChecks(
      report([
        row('service (WORKERS=1)', 'closed loop, 16 conn', 5900, 5),
        row('bare node:http', 'closed loop, 16 conn', 12000, 4),
        row('service (WORKERS=1)', 'open loop, 2000 req/s', 2000, 4.1),
        row('bare node:http', 'open loop, 2000 req/s', 2000, 2),
      ]),
    );
    const verdict = (start: string) => checks.find((c) => c.target.startsWith(start))?.met;

    expect(verdict('`WORKERS=1`, 16 conn ≥ 0.5× bare node:http')).toBe(false);
    expect(verdict('`WORKERS=1`, p99 at 2,000 req/s')).toBe(false);
    expect(verdict('`WORKERS=1`, 1 conn ≥ 0.95×')).toBeUndefined();
  });

  test('When bare node:http ran steadily, then the run says so; when its rounds spread, then it warns that the ratios read high', () => {
    // as the bench records it: the row is the median round
    const node = (rounds: number[]) => [
      { ...row('bare node:http', 'closed loop, 16 conn', [...rounds].sort((a, b) => a - b)[(rounds.length - 1) >> 1], 1), rounds },
    ];

    expect(machineSteadiness(node([45805, 43592, 44592, 46642, 46851]))).toMatch(/^The machine was steady: .* spread 7 %/);
    expect(machineSteadiness(node([5066, 26369, 32414, 25888, 34403]))).toMatch(/^\*\*The machine was not steady\*\*: .* spread 111 %/);
    expect(machineSteadiness(node([40000, 40000, 46000]))).toMatch(/^The machine was steady: .* spread 15 %/);
    expect(machineSteadiness([row('bare node:http', 'closed loop, 16 conn', 45000, 1)])).toBeUndefined();
    expect(renderPerfRegion(report(node([5066, 26369, 32414, 25888, 34403])))).toContain('The machine was not steady');
  });

  test('When compared with a previous report, then only figures both measured give deltas', () => {
    const before = report([row('bare node:http', 'closed loop, 16 conn', 10000, 4), row('gone', 'closed loop, 16 conn', 1, 1)]);
    const deltas = compareReports(before, [
      row('bare node:http', 'closed loop, 16 conn', 12000, 5),
      row('new', 'closed loop, 16 conn', 1, 1),
    ]);

    expect(deltas.map((d) => [d.metric, d.before, d.after])).toEqual([
      ['req/s', 10000, 12000],
      ['p99 ms', 4, 5],
    ]);
  });
});
