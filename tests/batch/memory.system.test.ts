import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { writeRepeatedMonth } from '../support/repeated-month.js';
import { readSummary, runScore, sharedMonth } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'score-memory-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ROW_GROUP = 65_536;

/** Scores March 2021 repeated to `rows` rows (yellow layout) and returns the run's summary. */
async function scoreRepeated(rows: number) {
  const input = join(work, `yellow_${rows}.parquet`);
  await writeRepeatedMonth({ source: sharedMonth('green_tripdata_2021-03.parquet'), target: input, rows, rowGroupRows: ROW_GROUP });
  const out = join(work, `out-${rows}`);
  const run = await runScore(['--data', input, '--output', out]);
  expect(run.code, run.stderr).toBe(0);
  rmSync(input);
  return readSummary(join(out, 'taxi_type=yellow/year=2021/month=03'));
}

// The full-size figure (3 million rows, 400 MB) is measured by npm run bench:score (docs/batch.md).
describe('batch scoring memory', () => {
  test('When a file three times larger is scored (same row groups), then peak memory stays within a row group’s worth, under 400 MB', async () => {
    const small = await scoreRepeated(3 * ROW_GROUP);
    const large = await scoreRepeated(9 * ROW_GROUP);

    expect(large.rows.read).toBe(9 * ROW_GROUP);
    expect(large.input.row_groups).toBe(9);
    expect(large.performance.peak_rss_mb).toBeLessThanOrEqual(400);
    // why 80 MB: holding the file's rows would add ~40 bytes per kept row at least (393,216 more rows: > 15 MB
    // of typed arrays, ~150 MB decoded); GC timing moved the peak by up to 50 MB between clean runs.
    expect(large.performance.peak_rss_mb - small.performance.peak_rss_mb).toBeLessThanOrEqual(80);
  }, 300_000);
});
