import { describe, expect, test } from 'vitest';
import { summarize } from '../../src/experiment/offline-evaluation.js';
import { createOnlineStats } from '../../src/experiment/online-stats.js';
import { addToDelta, summarize as summarizeAccuracy, type AccuracyDelta } from '../../src/monitoring/accuracy.js';

describe('offline evaluation (the promotion gate)', () => {
  test('When a model predicts too short, then its mean error is positive, as GET /monitoring and GET /experiment say it', () => {
    // predicted 8 and 9 for rides that took 10: errors (actual − predicted) 2 and 1
    const offline = summarize([8, 9], [10, 10]);
    expect(offline).toEqual({ n: 2, rmse: Math.sqrt(5 / 2), mae: 1.5, meanError: 1.5 });

    const online = createOnlineStats(() => ({ mode: 'shadow', champion: 'm/2', challenger: 'm/1' }));
    const monitoring: AccuracyDelta = {};
    for (const [rideId, predicted] of [8, 9].entries()) {
      addToDelta(monitoring, { modelVersion: 'm/2', duration: predicted }, 10);
      online.record({
        rideId,
        actual: 10,
        predictions: [
          { modelVersion: 'm/2', duration: predicted },
          { modelVersion: 'm/1', duration: predicted, arm: 'shadow' },
        ],
      });
    }
    expect(online.report()!.champion.mean_error).toBe(offline.meanError);
    expect(summarizeAccuracy(monitoring, new Map())[0].mean_error).toBe(offline.meanError);
  });
});
