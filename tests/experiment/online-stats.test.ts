import { describe, expect, test } from 'vitest';
import { createOnlineStats, type Arms } from '../../src/experiment/online-stats.js';
import { createRandom } from '../../src/training/random.js';

function statsFor(arms: Arms) {
  let current: Arms | undefined = arms;
  const stats = createOnlineStats(() => current);
  return { stats, set: (next: Arms | undefined) => (current = next) };
}

describe('online A/B statistics', () => {
  test('When shadow feedback arrives, then each arm gets RMSE, MAE and mean error, and the paired interval is the normal one', () => {
    const { stats } = statsFor({ mode: 'shadow', champion: 'm/3', challenger: 'm/1' });
    // errors (actual − predicted): champion -1, 1, -2, 0; challenger -2, 2, -3, -1
    const rows = [
      [10, 11, 12],
      [10, 9, 8],
      [10, 12, 13],
      [10, 10, 11],
    ];
    rows.forEach(([actual, champ, chall], i) =>
      stats.record({
        rideId: i,
        actual,
        predictions: [
          { modelVersion: 'm/3', duration: champ },
          { modelVersion: 'm/1', duration: chall, arm: 'shadow' },
        ],
      }),
    );

    const r = stats.report()!;

    expect(r.champion).toEqual({ model_version: 'm/3', n: 4, rmse: Math.sqrt(6 / 4), mae: 1, mean_error: -0.5 });
    expect(r.challenger).toEqual({ model_version: 'm/1', n: 4, rmse: Math.sqrt(18 / 4), mae: 2, mean_error: -1 });
    // d = 3, 3, 5, 1: mean 3, sd √(8/3)
    const half = (1.959964 * Math.sqrt(8 / 3)) / 2;
    expect(r.comparison.paired).toBe(true);
    expect(r.comparison.mean_difference).toBe(3);
    expect(r.comparison.ci95![0]).toBeCloseTo(3 - half, 12);
    expect(r.comparison.ci95![1]).toBeCloseTo(3 + half, 12);
    expect(r.comparison.verdict).toBe('not_significant');
    expect(r.comparison.more_rides_needed).toBe(26);
  });

  test('When the challenger is clearly worse on enough rides, then the verdict is challenger_worse; clearly better, challenger_better', () => {
    const random = createRandom(7);
    const worse = statsFor({ mode: 'shadow', champion: 'm/3', challenger: 'm/1' }).stats;
    const better = statsFor({ mode: 'shadow', champion: 'm/1', challenger: 'm/3' }).stats;
    for (let i = 0; i < 2000; i++) {
      const actual = 5 + 30 * random();
      const good = actual + (random() - 0.5) * 4;
      const bad = actual + (random() - 0.5) * 8;
      const preds = [
        { modelVersion: 'm/3', duration: good },
        { modelVersion: 'm/1', duration: bad },
      ];
      worse.record({ rideId: i, actual, predictions: [preds[0], { ...preds[1], arm: 'shadow' }] });
      better.record({ rideId: i, actual, predictions: [preds[1], { ...preds[0], arm: 'shadow' }] });
    }
    expect(worse.report()!.comparison).toMatchObject({ verdict: 'challenger_worse', more_rides_needed: 0, n: 2000 });
    expect(better.report()!.comparison).toMatchObject({ verdict: 'challenger_better', more_rides_needed: 0 });
  });

  test('When only one arm predicted a shadow ride, or the feedback names other versions, then it is unmatched', () => {
    const { stats } = statsFor({ mode: 'shadow', champion: 'm/3', challenger: 'm/1' });
    stats.record({ rideId: 1, actual: 10, predictions: [{ modelVersion: 'm/3', duration: 9 }] });
    stats.record({
      rideId: 2,
      actual: 10,
      predictions: [
        { modelVersion: 'm/2', duration: 9 },
        { modelVersion: 'm/1', duration: 9, arm: 'shadow' },
      ],
    });
    expect(stats.report()).toMatchObject({
      unmatched: 2,
      champion: { n: 0, rmse: null },
      comparison: { n: 0, verdict: 'not_significant' },
    });
  });

  test('When split feedback arrives, then each ride counts for the arm that answered it and the comparison is unpaired', () => {
    const random = createRandom(3);
    const { stats } = statsFor({ mode: 'split', champion: 'm/3', challenger: 'm/1' });
    for (let i = 0; i < 5000; i++) {
      const actual = 20;
      const challenger = i % 5 === 0;
      const duration = actual + (random() - 0.5) * (challenger ? 10 : 4);
      stats.record({ rideId: i, actual, predictions: [{ modelVersion: challenger ? 'm/1' : 'm/3', duration }] });
    }
    const r = stats.report()!;
    expect(r.champion.n).toBe(4000);
    expect(r.challenger.n).toBe(1000);
    expect(r.comparison).toMatchObject({ paired: false, verdict: 'challenger_worse' });
    // variance of a uniform(−w/2, w/2) error is w²/12
    expect(r.challenger.rmse!).toBeCloseTo(Math.sqrt(100 / 12), 0);
  });

  test('When the versions change, then the statistics start afresh; without a challenger there is no report', () => {
    const { stats, set } = statsFor({ mode: 'shadow', champion: 'm/3', challenger: 'm/1' });
    stats.record({
      rideId: 1,
      actual: 10,
      predictions: [
        { modelVersion: 'm/3', duration: 9 },
        { modelVersion: 'm/1', duration: 9, arm: 'shadow' },
      ],
    });
    set({ mode: 'shadow', champion: 'm/3', challenger: 'm/2' });
    expect(stats.report()!.challenger).toMatchObject({ model_version: 'm/2', n: 0 });
    set(undefined);
    expect(stats.report()).toBeUndefined();
  });
});
