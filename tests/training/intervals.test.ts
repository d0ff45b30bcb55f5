import { describe, expect, test } from 'vitest';
import { allocateInputColumns } from '../../src/features/model-contract.js';
import {
  CALIBRATION_SCHEMES,
  calibrateIntervals,
  calibrationResiduals,
  conformalQuantile,
  dayOfMonth,
  DEFAULT_CALIBRATION,
  DEFAULT_INTERVAL_OPTIONS,
  fitIntervals,
  intervalBounds,
  intervalCoverage,
  type IntervalScale,
} from '../../src/training/intervals.js';
import { exportOnnx } from '../../src/training/onnx-export.js';
import { checkParity, runOnnxOutputs } from '../../src/training/onnx-check.js';
import { DEFAULT_PARAMS } from '../../src/training/presets.js';
import { createRandom } from '../../src/training/random.js';
import { fitModel, predict, unseenPairMask } from '../../src/training/trained-model.js';
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

  test('When errors grow with the duration and the scale is multiplicative, then the bounds are duration × q and cover 80 % by quintile', () => {
    const random = createRandom(4);
    const n = 20_000;
    const pred = Float64Array.from({ length: n }, () => 3 + 40 * random());
    const unseen = new Uint8Array(n);
    const y = Float64Array.from(pred, (p) => p * (0.7 + 0.6 * random()));
    const model = fitIntervals(pred, y, unseen, 'synthetic', { ...DEFAULT_INTERVAL_OPTIONS, scale: 'multiplicative' });

    const bounds = intervalBounds(model, Float32Array.from(pred), unseen);
    const report = intervalCoverage(pred, bounds.p10, bounds.p90, y, unseen);

    expect(model.scale).toBe('multiplicative');
    for (let b = 0; b < model.seen.lower.length; b++) {
      expect(model.seen.lower[b]).toBeCloseTo(0.76, 1);
      expect(model.seen.upper[b]).toBeCloseTo(1.24, 1);
    }
    expect(model.unseen).toEqual({ edges: [], lower: [1], upper: [1], rows: [0] });
    for (const s of [report.overall, ...report.by_predicted_quintile]) {
      expect(s.below_p10).toBeCloseTo(0.1, 1);
      expect(s.above_p90).toBeCloseTo(0.1, 1);
    }
  });

  test("When a month is calibrated by each scheme, then only trips after each fold model's data are scored (or, leaving a week out, every trip)", () => {
    const train = tripTable(syntheticTrips(3000, 5));
    const day = dayOfMonth(train);
    const count = (keep: (d: number) => boolean) => day.filter(keep).length;
    const rows = (kind: keyof typeof CALIBRATION_SCHEMES) =>
      calibrationResiduals(train, 'time', DEFAULT_PARAMS, 1, loadZoneGeometry(), CALIBRATION_SCHEMES[kind]).y.length;

    expect(rows('gap')).toBe(count((d) => d >= 15));
    expect(rows('forward-weeks')).toBe(count((d) => d >= 8));
    expect(rows('last-week')).toBe(count((d) => d >= 22));
    expect(rows('leave-week-out')).toBe(train.rows);
  });

  test('When the month spans less than two weeks, then week-based calibration is refused with the reason', () => {
    const train = tripTable(syntheticTrips(600, 5).filter((t) => t.pickup!.getUTCDate() <= 10));

    expect(() => calibrationResiduals(train, 'time', DEFAULT_PARAMS, 1, loadZoneGeometry(), CALIBRATION_SCHEMES['forward-weeks'])).toThrow(
      /spans 10 days, at least 14 needed/,
    );
  });

  test.each<IntervalScale>(['additive', 'multiplicative'])(
    'When the %s graph runs on any input, then duration_p10 <= duration <= duration_p90',
    async (scale) => {
      const train = tripTable(syntheticTrips(3000, 5));
      const model = fitModel(train, 'time', DEFAULT_PARAMS, 1, undefined, loadZoneGeometry());
      const intervals = calibrateIntervals(train, 'time', DEFAULT_PARAMS, 1, loadZoneGeometry(), { ...DEFAULT_CALIBRATION, scale });
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
      const parity = await checkParity(onnx, 'time', train, predict(model, train), {
        model: intervals,
        unseen: unseenPairMask(model, train),
      });
      expect(parity.intervals!.maxAbsDiff).toBeLessThan(1e-4);
    },
  );
});
