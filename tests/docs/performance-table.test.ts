import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { extractPerfRegion, PERFORMANCE_MD, readReport, renderPerfRegion, renderResultsTable } from '../../bench/report-table.js';

describe('docs/performance.md results', () => {
  test('When the docs are read, then the results region is what bench/report-table.ts renders from the committed latest.json', () => {
    const region = extractPerfRegion(readFileSync(PERFORMANCE_MD, 'utf8'));

    // To fix after a bench run: npm run docs:perf, then commit latest.json and docs/performance.md together.
    expect(region).toBe(renderPerfRegion(readReport()));
  });

  test('When latest.json is rendered, then the table equals the one the bench run printed', () => {
    const report = readReport();

    expect(renderResultsTable(report.rows)).toBe(report.markdown);
  });
});
