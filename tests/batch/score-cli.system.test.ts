import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } from 'hyparquet';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../support/ports.js';
import { aTrip, syntheticTrips, writeTripParquet } from '../support/trip-fixtures.js';
import { filesUnder, readPredictions, readSummary, runScore } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'score-cli-'));
const closedPort = await freePort();
afterAll(() => rmSync(work, { recursive: true, force: true }));

const march = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2021, 2, day, hour, minute));

describe('npm run score', () => {
  test("When six trips are scored (the course's homework), then the three that pass the filter are written in the course's columns with reproducible ride ids", async () => {
    const input = join(work, 'six.parquet');
    writeTripParquet(input, [
      aTrip({ pickup: march(1, 1, 2), minutes: 8, PULocationID: 10, DOLocationID: 20 }),
      aTrip({ pickup: march(1, 1, 2), minutes: 8, PULocationID: 1, DOLocationID: 1 }),
      aTrip({ pickup: march(1, 2, 2), minutes: 0.5, PULocationID: 1, DOLocationID: 1 }),
      aTrip({ pickup: march(1, 2, 2), minutes: 61, PULocationID: 1, DOLocationID: 1 }),
      aTrip({ pickup: march(2, 10), minutes: 59, PULocationID: 40, DOLocationID: 41 }),
      aTrip({ pickup: march(2, 11), minutes: 20, PULocationID: null }),
    ]);
    const out = join(work, 'six-out');

    const run = await runScore(['--data', input, '--output', out, '--threads', '1']);

    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    const dir = join(out, 'taxi_type=green/year=2021/month=03');
    expect(filesUnder(out)).toEqual([
      'taxi_type=green/year=2021/month=03/predictions.parquet',
      'taxi_type=green/year=2021/month=03/report.html',
      'taxi_type=green/year=2021/month=03/summary.json',
    ]);
    const file = await asyncBufferFromFile(join(dir, 'predictions.parquet'));
    const columns = parquetSchema(await parquetMetadataAsync(file)).children.map((c) => [c.element.name, c.element.type]);
    expect(columns).toEqual([
      ['ride_id', 'BYTE_ARRAY'],
      ['lpep_pickup_datetime', 'INT64'],
      ['PULocationID', 'INT32'],
      ['DOLocationID', 'INT32'],
      ['actual_duration', 'DOUBLE'],
      ['predicted_duration', 'DOUBLE'],
      ['diff', 'DOUBLE'],
      ['model_version', 'BYTE_ARRAY'],
      ['predicted_duration_p10', 'DOUBLE'],
      ['predicted_duration_p90', 'DOUBLE'],
    ]);
    const rows = await readPredictions(join(dir, 'predictions.parquet'));
    expect(
      rows.map((r) => [r.ride_id, (r.lpep_pickup_datetime as Date).toISOString(), r.PULocationID, r.DOLocationID, r.actual_duration]),
    ).toEqual([
      ['2021/03_0', '2021-03-01T01:02:00.000Z', 10, 20, 8],
      ['2021/03_1', '2021-03-01T01:02:00.000Z', 1, 1, 8],
      ['2021/03_4', '2021-03-02T10:00:00.000Z', 40, 41, 59],
    ]);
    for (const r of rows) {
      expect(r.model_version).toMatch(/^taxi-ride-duration\/\d+$/);
      expect(r.diff as number).toBeCloseTo((r.actual_duration as number) - (r.predicted_duration as number), 9);
      expect(r.predicted_duration_p10 as number).toBeLessThanOrEqual(r.predicted_duration as number);
      expect(r.predicted_duration_p90 as number).toBeGreaterThanOrEqual(r.predicted_duration as number);
    }
    const summary = readSummary(dir);
    expect(summary.rows).toEqual({
      read: 6,
      kept: 3,
      dropped: { duration_outside_1_60_min: 2, missing_field: 1, impossible_pickup_date: 0, zone_out_of_range: 0, negative_distance: 0 },
    });
    expect(summary.quality.by_day.map((d) => [d.date, d.rows])).toEqual([
      ['2021-03-01', 2],
      ['2021-03-02', 1],
    ]);
    expect(run.stdout).toMatch(/^green 2021-03: 3 of 6 rows scored by taxi-ride-duration\/\d+, RMSE \d+\.\d{3}/);
  });

  test('When a yellow file is scored on the worker thread, then it lands under taxi_type=yellow with tpep_pickup_datetime and the same predictions as inline', async () => {
    const trips = syntheticTrips(2500, 7, 1);
    const input = join(work, 'yellow.parquet');
    writeTripParquet(input, trips, 'yellow');

    const [two, one] = await Promise.all([
      runScore(['--data', input, '--output', join(work, 'y2'), '--threads', '2']),
      runScore(['--data', input, '--output', join(work, 'y1'), '--threads', '1']),
    ]);

    expect([two.code, one.code, two.stderr + one.stderr]).toEqual([0, 0, expect.not.stringContaining('error:')]);
    const path = 'taxi_type=yellow/year=2021/month=02/predictions.parquet';
    const [a, b] = await Promise.all([readPredictions(join(work, 'y2', path)), readPredictions(join(work, 'y1', path))]);
    expect(a).toHaveLength(2500);
    expect(Object.keys(a[0])[1]).toBe('tpep_pickup_datetime');
    expect(a).toEqual(b);
    expect(readSummary(join(work, 'y2', path, '..')).input.row_groups).toBe(3);
  });

  describe('When the input or the environment is bad, then one error line, exit 1, and no predictions.parquet', () => {
    const text = join(work, 'notes.parquet');
    writeFileSync(text, 'not parquet at all, just text\n');
    const noZones = join(work, 'no-zones.parquet');
    writeTripParquet(noZones, [aTrip()], 'no-zones');
    const good = join(work, 'good.parquet');
    writeTripParquet(good, [aTrip()]);
    const fileInTheWay = join(work, 'a-file');
    writeFileSync(fileInTheWay, '');

    test.each([
      ['a missing file', ['--data', join(work, 'nope.parquet')], {}, /^error: cannot read .*nope\.parquet: no such file$/],
      ['a file that is not parquet', ['--data', text], {}, /^error: .*notes\.parquet is not a parquet file$/],
      [
        'a parquet without the trip columns',
        ['--data', noZones],
        {},
        /^error: .*no-zones\.parquet lacks the trip columns PULocationID, DOLocationID/,
      ],
      [
        'an unreachable URL',
        ['--data', `http://127.0.0.1:${closedPort}/green_tripdata_2021-03.parquet`],
        {},
        /^error: cannot download http:\/\/127\.0\.0\.1:\d+\/green_tripdata_2021-03\.parquet: ECONNREFUSED$/,
      ],
      [
        'an unreachable registry',
        ['--data', good, '--registry', 'http://127.0.0.1:9'],
        { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0', MODEL_CACHE_DIR: join(work, 'empty-cache') },
        /^error: model registry \(unavailable\): /,
      ],
      [
        'a model that does not exist',
        ['--data', good, '--model', 'models:/taxi-ride-duration@nope'],
        {},
        /^error: cannot score with the model: .*nope/,
      ],
      [
        'an output directory that cannot be written',
        ['--data', good, '--output', join(fileInTheWay, 'out')],
        {},
        /^error: cannot write the output directory .*a-file\/out: (ENOTDIR|EEXIST)$/,
      ],
      ['no arguments', [], {}, /^error: --data and --output are required/],
    ])('%s', async (_name, args, env, message) => {
      const out = join(work, `bad-${Math.random().toString(36).slice(2)}`);
      const run = await runScore(
        args.includes('--output') || args.length === 0 ? args : [...args, '--output', out],
        env as Record<string, string>,
      );

      const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errors, run.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.code).toBe(1);
      expect(filesUnder(out).filter((f) => f.includes('predictions'))).toEqual([]);
    });
  });

  test('When a row group past the first cannot be decoded, then the partial predictions file is removed', async () => {
    const input = join(work, 'corrupt.parquet');
    writeTripParquet(input, syntheticTrips(3000, 11, 2));
    const bytes = readFileSync(input);
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(input));
    const distance = metadata.row_groups[2].columns.find((c) => c.meta_data?.path_in_schema[0] === 'trip_distance')!.meta_data!;
    const at = Number(distance.data_page_offset) + 40;
    bytes.fill(0x55, at, at + Number(distance.total_compressed_size) - 60);
    writeFileSync(input, bytes);
    const out = join(work, 'corrupt-out');

    const run = await runScore(['--data', input, '--output', out]);

    expect(run.stderr).toMatch(/^error: .*corrupt\.parquet could not be decoded/m);
    expect(run.code).toBe(1);
    expect(filesUnder(out)).toEqual([]);
  });

  test('When asked for --help, then it prints the usage and exits 0', async () => {
    const run = await runScore(['--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('usage: npm run score -- --data');
  });
});
