/**
 * Connects the experiment to monitoring (docs/experiments.md, "Feedback"): shadow predictions are
 * logged under the challenger's own version (arm "shadow"), so that feedback for a ride comes back
 * with both arms' predictions; every matched feedback event feeds the online statistics.
 * (Split answers need nothing here: they are served predictions, each tagged with its version.)
 */
import type { RideId } from '../features/trip-inputs.js';
import type { Predictor } from '../model/predictor.js';
import type { FeedbackEvent, OnlineStats } from './online-stats.js';

/** The part of the monitor (src/monitoring/monitor.ts) the experiment uses. */
export interface FeedbackSource {
  logPredictions(batch: {
    rideIds: readonly RideId[];
    modelVersion: string;
    duration: Float32Array;
    p10?: Float32Array;
    p90?: Float32Array;
    arm?: string;
  }): void;
  onFeedback(listener: (event: FeedbackEvent) => void): () => void;
}

export function linkExperimentToMonitoring(
  predictor: Pick<Predictor, 'onShadowPredictions'>,
  monitor: FeedbackSource,
  stats: OnlineStats,
): () => void {
  const offShadow = predictor.onShadowPredictions(({ predictions: p }) =>
    monitor.logPredictions({
      rideIds: p.rideIds,
      modelVersion: p.modelVersion,
      duration: p.duration,
      p10: p.p10,
      p90: p.p90,
      arm: 'shadow',
    }),
  );
  const offFeedback = monitor.onFeedback((event) => stats.record(event));
  return () => {
    offShadow();
    offFeedback();
  };
}
