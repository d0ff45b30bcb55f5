import { describe, expect, test } from 'vitest';
import {
  binCounts,
  binIndex,
  bootstrapThresholds,
  jensenShannonDistance,
  judgeDrift,
  parseDriftReference,
  scoreFeature,
  thresholdFor,
  wassersteinNormed,
  type DriftReference,
  type FeatureReference,
} from '../../src/monitoring/drift.js';
import { createRandom } from '../../src/training/random.js';

const zones: FeatureReference = {
  feature: 'PULocationID',
  method: 'jensenshannon',
  values: [1, 2, 3],
  counts: [50, 30, 20, 0],
  thresholds: { n: [100, 10_000], score: [0.2, 0.02] },
  min_effect: 0.1,
  monitored: true,
};
const distance: FeatureReference = {
  feature: 'trip_distance',
  method: 'wasserstein_normed',
  edges: [0, 1, 2, 3, 4],
  counts: [10, 20, 30, 40],
  std: 1,
  thresholds: { n: [100], score: [0.05] },
  min_effect: 0.1,
  monitored: true,
};
const weekday: FeatureReference = { ...zones, feature: 'pickup_dow', monitored: false };
const reference: DriftReference = {
  format_version: 1,
  data: 'test',
  rows: 100,
  bootstrap: { replicates: 10, quantile: 0.99, seed: 1 },
  min_effect: 0.1,
  features: [zones, distance, weekday],
};

describe('drift math', () => {
  test('When a value is binned, then unknown zones land in the other bin and numbers outside the edges in the end bins', () => {
    expect([1, 2, 3, 999, -1, Number.NaN].map((v) => binIndex(zones, v))).toEqual([0, 1, 2, 3, 3, 3]);
    expect([-5, 0, 0.5, 1, 2.5, 3.99, 4, 1e9].map((v) => binIndex(distance, v))).toEqual([0, 0, 0, 1, 2, 3, 3, 3]);
    expect(binCounts(zones, [1, 1, 2, 7])).toEqual([2, 1, 0, 1]);
  });

  test('When two distributions are compared, then the Jensen–Shannon distance matches scipy (natural log)', () => {
    // scipy.spatial.distance.jensenshannon([0.5, 0.5], [1, 0]) = 0.4645014...
    expect(jensenShannonDistance([1, 1], [2, 0])).toBeCloseTo(0.46450140402245893, 12);
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 12);
    expect(jensenShannonDistance([3, 1], [6, 2])).toBe(0);
    expect(jensenShannonDistance([0, 0], [1, 1])).toBeNaN();
  });

  test('When all mass moves one bin up, then the normalised Wasserstein distance is one bin width over the std', () => {
    expect(wassersteinNormed([0, 1, 2, 3], 2, [1, 0, 0], [0, 1, 0])).toBeCloseTo(0.5, 12);
    expect(wassersteinNormed([0, 1, 2, 3], 0, [1, 0, 0], [0, 0, 1])).toBeCloseTo(2 / 0.001, 6);
    expect(scoreFeature(distance, [10, 20, 30, 40])).toBe(0);
    expect(() => scoreFeature(distance, [1, 2])).toThrow(/trip_distance: 2 counts for 4 reference bins/);
  });

  test('When a window size falls between grid points, then the threshold is interpolated in log n and clamped outside', () => {
    expect(thresholdFor(zones, 50)).toBe(0.2);
    expect(thresholdFor(zones, 1000)).toBeCloseTo(0.11, 12);
    expect(thresholdFor(zones, 1e6)).toBe(0.02);
  });

  test('When a window is judged, then drift needs both the noise level and the minimum effect, and the weekday is never flagged', () => {
    const verdicts = judgeDrift(reference, { PULocationID: [0, 0, 0, 1000], trip_distance: [10, 20, 30, 40], pickup_dow: [0, 0, 0, 1000] });

    expect(verdicts.map((v) => [v.feature, v.drifted, v.evidently_drifted, v.n])).toEqual([
      ['PULocationID', true, true, 1000],
      ['trip_distance', false, false, 100],
      ['pickup_dow', false, true, 1000],
    ]);
    expect(verdicts[0]).toMatchObject({ method: 'jensenshannon', threshold: expect.closeTo(0.11, 9), min_effect: 0.1 });
    expect(judgeDrift(reference, { PULocationID: [50, 30, 20, 1] })[0]).toMatchObject({ drifted: false, evidently_drifted: false });
  });

  test('When training.json is parsed, then a valid reference comes back and anything else is undefined', () => {
    expect(parseDriftReference({ drift_reference: reference })).toEqual(reference);
    expect(parseDriftReference({})).toBeUndefined();
    expect(parseDriftReference(null)).toBeUndefined();
    expect(parseDriftReference({ drift_reference: { ...reference, features: [{ ...zones, counts: [1] }] } })).toBeUndefined();
  });

  test('When the noise level is tabulated, then it shrinks as windows grow and the same seed gives the same table', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => i % 3);
    const table = (seed: number) =>
      bootstrapThresholds(
        zones,
        rows.map((_, i) => (i * 7919) % 3),
        [100, 1000, 4000],
        50,
        0.99,
        createRandom(seed),
      );

    const a = table(7);

    expect(a).toEqual(table(7));
    expect(a.score[0]).toBeGreaterThan(a.score[2]);
  });
});
