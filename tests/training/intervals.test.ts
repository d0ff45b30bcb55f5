import { describe, expect, test } from 'vitest';
import { allocateInputColumns } from '../../src/features/model-contract.js';
import { calibrateIntervals, conformalQuantile, fitIntervals, intervalBounds, intervalCoverage } from '../../src/training/intervals.js';
import { exportOnnx } from '../../src/training/onnx-export.js';
import { runOnnxOutputs } from '../../src/training/onnx-check.js';
import { DEFAULT_PARAMS } from '../../src/training/presets.js';
import { createRandom } from '../../src/training/random.js';
import { fitModel } from '../../src/training/trained-model.js';
import { loadZoneGeometry } from '../../src/training/zone-geometry.js';
import { syntheticTrips, tripTable } from '../support/trip-fixtures.js';

describe('prediction intervals', () => {
  test('When the conformal quantiles are taken, then the lower one rounds down and the upper one up in rank', () => {
    const values = Array.from({ length: 19 }, (_, i) => i + 1);

    expect(conformalQuantile(values, 0.1)).toBe(2);
    expect(conformalQuantile(values, 0.9)).toBe(18);
    expect(conformalQuantile([], 0.9)).toBe(0);
  });

  test('When residuals are spread evenly, then about 10 % fall below p10 and 10 % above p90, by segment', () => {
    const random = createRandom(3);
    const n = 20_000;
    const pred = Float64Array.from({ length: n }, () => 5 + 30 * random());
    const unseen = Uint8Array.from({ length: n }, () => (random() < 0.2 ? 1 : 0));
    const y = Float64Array.from(pred, (p, i) => p + (random() - 0.5) * (unseen[i] ? 20 : 0.4 * p));
    const model = fitIntervals(pred, y, unseen, 'synthetic');

    const bounds = intervalBounds(model, Float32Array.from(pred), unseen);
    const report = intervalCoverage(pred, bounds.p10, bounds.p90, y, unseen);

    expect(model.seen.rows.length).toBe(10);
    for (const s of [report.overall, report.unseen_pairs, ...report.by_predicted_quintile]) {
      expect(s.below_p10).toBeCloseTo(0.1, 1);
      expect(s.above_p90).toBeCloseTo(0.1, 1);
    }
  });

  test('When the graph runs on any input, then duration_p10 <= duration <= duration_p90', async () => {
    const train = tripTable(syntheticTrips(3000, 5));
    const model = fitModel(train, 'time', DEFAULT_PARAMS, 1, undefined, loadZoneGeometry());
    const intervals = calibrateIntervals(train, 'time', DEFAULT_PARAMS, 1, loadZoneGeometry());
    const onnx = exportOnnx(model.featurizer, model.gbdt, 'test', intervals);
    const random = createRandom(9);
    const n = 2000;
    const columns = allocateInputColumns(n);
    for (let i = 0; i < n; i++) {
      columns.PULocationID[i] = BigInt(Math.floor(random() * 400) - 50);
      columns.DOLocationID[i] = BigInt(Math.floor(random() * 400) - 50);
      columns.trip_distance[i] = (random() - 0.1) * (random() < 0.1 ? 1e6 : 80);
      columns.pickup_hour[i] = BigInt(Math.floor(random() * 40) - 5);
      columns.pickup_dow[i] = BigInt(Math.floor(random() * 12) - 2);
    }

    const out = await runOnnxOutputs(onnx, 'time', columns);

    for (let i = 0; i < n; i++) {
      expect(out.duration_p10[i]).toBeLessThanOrEqual(out.duration[i]);
      expect(out.duration[i]).toBeLessThanOrEqual(out.duration_p90[i]);
    }
    expect(Object.keys(out).sort()).toEqual(['duration', 'duration_p10', 'duration_p90']);
  });
});
