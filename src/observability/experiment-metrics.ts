/**
 * Metrics of the champion/challenger experiment (docs/experiments.md): the challenger's own load
 * metrics (so a bad challenger never shows up as the champion's model_load_failures_total or
 * model_info), what it predicted, and how far it was from the champion on the same trips.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ChallengerOutcome = 'success' | 'error' | 'not_loaded' | 'skipped';

export interface ExperimentMetrics {
  /** Rides the challenger predicted or should have, by mode, its version (`none` when not loaded) and outcome. */
  readonly challengerPredictions: Counter<'mode' | 'model_version' | 'outcome'>;
  /** |champion − challenger| in minutes, per trip, in shadow mode. */
  readonly shadowAbsoluteDifference: Histogram;
  readonly challengerInfo: Gauge<'name' | 'version' | 'alias' | 'stale'>;
  readonly challengerLoadSeconds: Histogram;
  readonly challengerLoadFailures: Counter<'reason'>;
}

export function createExperimentMetrics(registers: Registry[]): ExperimentMetrics {
  return {
    challengerPredictions: new Counter({
      name: 'challenger_predictions_total',
      help:
        'Rides (trips, not requests) routed to the challenger, by mode (shadow, split), model version and outcome: ' +
        'success; error = its run failed (split: the champion answered); not_loaded = no challenger model yet; ' +
        'skipped = shadow runs already at their in-flight cap.',
      labelNames: ['mode', 'model_version', 'outcome'] as const,
      registers,
    }),
    shadowAbsoluteDifference: new Histogram({
      name: 'shadow_absolute_difference_minutes',
      help: '|champion − challenger| predicted duration on the same trip, in minutes (shadow mode).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30],
      registers,
    }),
    challengerInfo: new Gauge({
      name: 'challenger_model_info',
      help: 'The challenger model: 1 for its name, version and alias (absent while none is loaded).',
      labelNames: ['name', 'version', 'alias', 'stale'] as const,
      aggregator: 'max',
      registers,
    }),
    challengerLoadSeconds: new Histogram({
      name: 'challenger_model_load_duration_seconds',
      help: 'Time to resolve, load and warm up a challenger model.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    challengerLoadFailures: new Counter({
      name: 'challenger_model_load_failures_total',
      help: 'Challenger model loads that failed, by reason (resolve, artifact, signature, session, warmup); the champion is unaffected.',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}
