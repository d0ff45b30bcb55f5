import { describe, expect, test } from 'vitest';
import { MemoryPredictionLog } from '../../src/monitoring/prediction-log.js';
import { DriftWindow } from '../../src/monitoring/drift-window.js';
import type { DriftReference } from '../../src/monitoring/drift.js';

describe('MemoryPredictionLog', () => {
  test('When rides expire or the log is full, then the oldest go first and only rides without feedback count as evicted', async () => {
    let now = 0;
    const log = new MemoryPredictionLog({ maxRides: 3, ttlMs: 1000, now: () => now });
    log.put({ rideIds: [1, 2], modelVersion: 'm/1', duration: [5, 6] });
    expect(await log.match([{ rideId: '1', actual: 4 }])).toEqual([[{ modelVersion: 'm/1', duration: 5 }]]);
    now = 500;
    log.put({ rideIds: [3, 4], modelVersion: 'm/1', duration: [7, 8] });
    // 4 rides > 3: ride 1 (already counted) leaves; nothing lost.
    expect(log.size).toBe(3);
    expect(log.takeEvictions()).toEqual({ expired: 0, full: 0 });
    log.put({ rideIds: [5], modelVersion: 'm/1', duration: [9] });
    expect(log.takeEvictions()).toEqual({ expired: 0, full: 1 });
    now = 1400;
    expect(
      await log.match([
        { rideId: 2, actual: 1 },
        { rideId: 5, actual: 2 },
        { rideId: 5, actual: 2 },
      ]),
    ).toEqual(['unknown', [{ modelVersion: 'm/1', duration: 9 }], 'duplicate']);
    expect(log.takeEvictions()).toEqual({ expired: 0, full: 0 });
    now = 1600;
    expect(await log.match([{ rideId: 3, actual: 1 }])).toEqual(['unknown']);
    expect(log.takeEvictions()).toEqual({ expired: 2, full: 0 });
    expect(log.takeEvictions()).toEqual({ expired: 0, full: 0 });
  });

  test('When a version logs the same ride twice and another version once, then feedback gets the latest of each', async () => {
    const log = new MemoryPredictionLog({ maxRides: 10, ttlMs: 1000, now: () => 0 });
    log.put({ rideIds: ['a'], modelVersion: 'm/1', duration: [5], p10: [4], p90: [7] });
    log.put({ rideIds: ['a'], modelVersion: 'c/1', duration: [6], arm: 'shadow' });
    log.put({ rideIds: ['a'], modelVersion: 'm/1', duration: [5.5], p10: [4], p90: [7] });
    expect(await log.match([{ rideId: 'a', actual: 5 }])).toEqual([
      [
        { modelVersion: 'm/1', duration: 5.5, p10: 4, p90: 7 },
        { modelVersion: 'c/1', duration: 6, arm: 'shadow' },
      ],
    ]);
  });

  test('When many more rides than the bound are logged, then the size stays at the bound', () => {
    const log = new MemoryPredictionLog({ maxRides: 1000, ttlMs: 1e9, now: () => 0 });
    for (let i = 0; i < 50_000; i++) log.put({ rideIds: [i], modelVersion: 'm/1', duration: [1] });
    expect(log.size).toBe(1000);
    expect(log.takeEvictions().full).toBe(49_000);
  });
});

describe('DriftWindow', () => {
  const reference: DriftReference = {
    format_version: 1,
    data: 'test',
    rows: 100,
    bootstrap: { replicates: 1, quantile: 0.99, seed: 1 },
    min_effect: 0.1,
    features: [
      {
        feature: 'zone',
        method: 'jensenshannon',
        values: [1, 2],
        counts: [50, 50, 0],
        thresholds: { n: [10], score: [0.05] },
        min_effect: 0.1,
        monitored: true,
      },
    ],
  };
  const HOUR = 3_600_000;

  test('When the clock moves past the window, then old slices leave it, late trips are counted apart, and the verdict waits for the minimum', () => {
    const w = new DriftWindow(reference, 24 * HOUR, 3);
    w.add([0, HOUR], [0, 1]);
    expect(w.judge()).toMatchObject({ trips: 2, verdict: false });
    expect(w.judge().features[0].drifted).toBe(false);
    w.add([23 * HOUR, 23 * HOUR + 1], [0, 0]);
    expect(w.judge()).toMatchObject({ trips: 4, verdict: true, firstSeenMs: 0, lastSeenMs: 23 * HOUR + 1 });
    w.add([24 * HOUR + 5], [2]);
    // the slice of hour 0 left; the trip at hour 1 stays
    expect(w.judge()).toMatchObject({ trips: 4, firstSeenMs: HOUR, lastSeenMs: 24 * HOUR + 5 });
    w.add([0], [0]);
    expect(w.judge()).toMatchObject({ trips: 4, late: 1 });
    w.add([100 * 24 * HOUR, 100 * 24 * HOUR], [2, 2]);
    const v = w.judge();
    expect(v).toMatchObject({ trips: 2, verdict: false });
    expect(v.features[0].score).toBeGreaterThan(0.5);
  });
});
