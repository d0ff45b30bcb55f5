import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createService, type Service } from '../../src/create-service.js';
import { filterTrips } from '../../src/data/trip-filter.js';
import { readTripParquet } from '../../src/data/trip-parquet.js';
import { MAX_DISTANCE_MILES } from '../../src/features/trip-schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { REPO_ROOT, readPredictions, readSummary, runScore, sharedMonth } from './support.js';

const MONTHS = [
  { file: 'green_tripdata_2021-02.parquet', partition: 'taxi_type=green/year=2021/month=02' },
  { file: 'green_tripdata_2021-03.parquet', partition: 'taxi_type=green/year=2021/month=03' },
];
const work = mkdtempSync(join(tmpdir(), 'score-real-'));
let service: Service;
let base: string;

beforeAll(async () => {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', MODEL_POLL_INTERVAL_S: '0', SHUTDOWN_DRAIN_MS: '0', MAX_BATCH: '10000' });
  service = createService(config, createLogger({ level: 'silent' }), { cwd: REPO_ROOT });
  const address: AddressInfo = await service.start();
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await service?.stop();
  rmSync(work, { recursive: true, force: true });
});

const pad = (n: number) => String(n).padStart(2, '0');
/** The naive New York wall-clock time TLC files hold, as /predict takes it (no zone). */
const wallClock = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};

describe('batch scoring on February and March 2021 (real data)', () => {
  test('When both months are scored, then every prediction equals POST /predict for the same trip, and RMSE and kept rows equal npm run evaluate and the training filter', async () => {
    const sources = MONTHS.map((m) => sharedMonth(m.file));
    const out = join(work, 'out');

    const run = await runScore(['--data', sources[0], '--data', sources[1], '--output', out]);
    const evaluate = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/training/evaluate-cli.ts',
        '--model',
        'models:/taxi-ride-duration@production',
        '--data',
        sources[0],
        '--data',
        sources[1],
      ],
      { cwd: REPO_ROOT },
    );

    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    for (const [k, month] of MONTHS.entries()) {
      const summary = readSummary(join(out, month.partition));
      const raw = await readTripParquet(readFileSync(sources[k]), sources[k]);
      const { report } = filterTrips(raw);
      const evaluated = new RegExp(`${month.file}: RMSE (\\d+\\.\\d{3})`).exec(evaluate.stdout);
      expect(evaluated, evaluate.stdout).not.toBeNull();
      expect(summary.quality.overall.rmse!.toFixed(3)).toBe(evaluated![1]);
      expect(summary.rows).toEqual({ read: report.rowsRead, kept: report.rowsKept, dropped: report.dropped });

      const rows = await readPredictions(join(out, month.partition, 'predictions.parquet'));
      expect(rows).toHaveLength(report.rowsKept);
      // why: /predict refuses distances over MAX_DISTANCE_MILES (TLC junk such as 100,000 miles); batch scoring
      // keeps them, as training and npm run evaluate do, so they have no /predict answer to compare with.
      const distanceOf = (r: Record<string, unknown>) => raw.tripDistance[Number(String(r.ride_id).split('_')[1])];
      const comparable = rows.filter((r) => distanceOf(r) <= MAX_DISTANCE_MILES);
      expect(rows.length - comparable.length).toBeLessThan(30);
      let worst = 0;
      for (let start = 0; start < comparable.length; start += 10_000) {
        const batch = comparable.slice(start, start + 10_000);
        const trips = batch.map((r) => {
          const index = Number(String(r.ride_id).split('_')[1]);
          return {
            ride_id: r.ride_id,
            PULocationID: r.PULocationID,
            DOLocationID: r.DOLocationID,
            trip_distance: raw.tripDistance[index],
            pickup_datetime: wallClock(raw.pickupMs[index]),
          };
        });
        const res = await fetch(`${base}/predict`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ trips }),
        });
        const body = (await res.json()) as { predictions: { duration: number; ride_id: string }[]; model_version: string };
        expect(res.status).toBe(200);
        expect(body.model_version).toBe(summary.model.version);
        batch.forEach((r, i) => {
          expect(body.predictions[i].ride_id).toBe(r.ride_id);
          expect(r.model_version).toBe(summary.model.version);
          worst = Math.max(worst, Math.abs(body.predictions[i].duration - (r.predicted_duration as number)));
        });
      }
      expect(worst).toBeLessThanOrEqual(0.001);
    }
  }, 600_000);
});
