/**
 * The acceptance test of monitoring (docs/monitoring.md): real TLC months replayed through the service
 * with npm run replay's code, checked against offline scoring of the same trips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MAX_DISTANCE_MILES } from '../../src/features/trip-schema.js';
import { runReplay, type ReplayOptions } from '../../src/replay/replay.js';
import { runOnnxOutputs, toInputColumns } from '../../src/training/onnx-check.js';
import { filterTrips, selectTrips } from '../../src/data/trip-filter.js';
import { readTripParquet } from '../../src/data/trip-parquet.js';
import { REPO_ROOT } from '../support/app.js';
import { startMonitoredService } from './support.js';

const data = (month: string) => {
  const path = resolve(REPO_ROOT, `../shared/data/green_tripdata_2021-${month}.parquet`);
  if (!existsSync(path)) throw new Error(`real-data monitoring test needs ${path} (the shared TLC data beside the checkout)`);
  return path;
};
const options = (path: string, url: string, more: Partial<ReplayOptions> = {}): ReplayOptions => ({
  data: path,
  url,
  feedbackUrl: url,
  rate: undefined,
  batch: 200,
  feedback: false,
  limit: undefined,
  minDistance: undefined,
  pickupTime: true,
  concurrency: 4,
  report: undefined,
  ...more,
});
const MONITORED = ['PULocationID', 'DOLocationID', 'trip_distance', 'prediction'];

describe('Replaying real months through the service (version 4)', () => {
  test('When February is replayed with feedback, then online RMSE and interval coverage from /metrics equal offline scoring of the same trips', async () => {
    const feb = data('02');
    const s = await startMonitoredService();
    try {
      const summary = await runReplay(options(feb, s.url, { feedback: true }));
      expect(summary.errors).toBe(0);
      const online = summary.online['taxi-ride-duration/4'];
      expect(online.matched).toBe(summary.trips);

      const { table } = filterTrips(await readTripParquet(readFileSync(feb), feb));
      const same = selectTrips(table, (i) => table.tripDistance[i] <= MAX_DISTANCE_MILES);
      const dir = join(REPO_ROOT, 'models/taxi-ride-duration/4');
      const training = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8'));
      const out = await runOnnxOutputs(readFileSync(join(dir, 'model.onnx')), training.feature_set, toInputColumns(same));
      let sse = 0;
      let inside = 0;
      for (let i = 0; i < same.rows; i++) {
        sse += (same.duration[i] - out.duration[i]) ** 2;
        if (same.duration[i] >= out.duration_p10[i] && same.duration[i] <= out.duration_p90[i]) inside++;
      }
      expect(online.matched).toBe(same.rows);
      expect(Math.abs(online.rmse - Math.sqrt(sse / same.rows))).toBeLessThan(0.01);
      expect(Math.abs(100 * online.interval_coverage! - (100 * inside) / same.rows)).toBeLessThan(0.5);
    } finally {
      await s.close();
    }
  });

  test('When January (the training month) is replayed a day at a time, then no monitored feature is flagged on more than 2 days', async () => {
    const s = await startMonitoredService();
    try {
      const summary = await runReplay(options(data('01'), s.url));
      const days = summary.days.filter((d) => d.date.startsWith('2021-01') && d.verdict);
      expect(days.length).toBeGreaterThanOrEqual(30);
      for (const feature of MONITORED) {
        expect(days.filter((d) => d.features[feature].drifted).length, feature).toBeLessThanOrEqual(2);
      }
    } finally {
      await s.close();
    }
  });

  test('When only trips over 10 miles are sent without pickup times (one window), then trip_distance and prediction are flagged', async () => {
    const s = await startMonitoredService();
    try {
      const summary = await runReplay(options(data('02'), s.url, { minDistance: 10, pickupTime: false }));
      const [window] = summary.days;
      expect(window.verdict).toBe(true);
      expect(window.features.trip_distance.drifted).toBe(true);
      expect(window.features.prediction.drifted).toBe(true);
    } finally {
      await s.close();
    }
  });
});
