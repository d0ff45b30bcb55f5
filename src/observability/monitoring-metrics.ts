/**
 * The model-monitoring metrics (docs/monitoring.md): feedback outcomes and error sums per model version
 * (counters, so Prometheus computes RMSE over any window), interval hits, prediction-log losses, and the
 * drift verdict of the current window (gauges read from the monitoring hub at scrape time).
 *
 * With WORKERS > 1 every worker exports its own counters (the primary sums them); the gauges all read
 * the one hub in the primary, so they aggregate with `max` (every worker reports the same value).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the gauges show, read from the monitoring hub once per scrape. */
export interface MonitoringGaugeState {
  /** Rides in the in-memory prediction log; undefined with Redis (ask Redis). */
  readonly logEntries: number | undefined;
  /** Trips in the drift window (0 without a reference). */
  readonly windowTrips: number;
  /** Per feature, only while the window holds a verdict (≥ DRIFT_MIN_TRIPS trips). */
  readonly drift: readonly { feature: string; method: string; score: number; threshold: number; drifted: boolean }[] | undefined;
  /** Evictions since the previous read (each one is handed to exactly one reader, so workers' sums are right). */
  readonly evicted: { readonly expired: number; readonly full: number };
}

export interface MonitoringMetrics {
  readonly feedback: Counter<'model_version' | 'outcome'>;
  readonly squaredError: Counter<'model_version'>;
  readonly absoluteError: Counter<'model_version'>;
  readonly signedError: Histogram<'model_version'>;
  readonly intervalHits: Counter<'model_version' | 'side'>;
  readonly logErrors: Counter<'reason'>;
  readonly trainingRmse: Gauge<'model_version'>;
  /** Where the gauges read their state at scrape time; nothing is exported before it is set. */
  setStateSource(read: () => Promise<MonitoringGaugeState>): void;
}

export function createMonitoringMetrics(registry: Registry): MonitoringMetrics {
  const registers = [registry];
  const feedback = new Counter({
    name: 'prediction_feedback_total',
    help: 'Ground-truth feedback by model version and outcome: matched (a logged prediction), unknown (none, or expired; model_version="unknown"), duplicate (already counted; model_version="unknown").',
    labelNames: ['model_version', 'outcome'] as const,
    registers,
  });
  const squaredError = new Counter({
    name: 'prediction_squared_error_sum',
    help: 'Sum of (actual - predicted)^2 over matched feedback, minutes^2: RMSE = sqrt(increase(this) / increase(prediction_feedback_total{outcome="matched"})).',
    labelNames: ['model_version'] as const,
    registers,
  });
  const absoluteError = new Counter({
    name: 'prediction_absolute_error_sum',
    help: 'Sum of |actual - predicted| over matched feedback, minutes.',
    labelNames: ['model_version'] as const,
    registers,
  });
  const signedError = new Histogram({
    name: 'prediction_signed_error_minutes',
    help: 'actual - predicted over matched feedback, minutes (positive = the ride took longer than predicted).',
    labelNames: ['model_version'] as const,
    buckets: [-30, -20, -15, -10, -5, -2, -1, 0, 1, 2, 5, 10, 15, 20, 30],
    registers,
  });
  const intervalHits = new Counter({
    name: 'prediction_interval_hits_total',
    help: 'Matched feedback of predictions with an 80 % interval, by where the actual duration fell: below, inside or above [p10, p90].',
    labelNames: ['model_version', 'side'] as const,
    registers,
  });
  const logErrors = new Counter({
    name: 'prediction_log_errors_total',
    help: 'Predictions that could not be logged for feedback (store unreachable, write buffer full), by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const trainingRmse = new Gauge({
    name: 'model_training_rmse',
    help: "RMSE of the model version on its held-out validation month, minutes (training.json): the online RMSE's yardstick.",
    labelNames: ['model_version'] as const,
    aggregator: 'max',
    registers,
  });

  let readState: (() => Promise<MonitoringGaugeState>) | undefined;
  // why one read per scrape: every gauge below shows the same state, and prom-client collects them concurrently.
  let refreshing: Promise<void> | undefined;
  const collect = () => {
    refreshing ??= refresh().finally(() => setTimeout(() => (refreshing = undefined), 50).unref());
    return refreshing;
  };

  const evictions = new Counter({
    name: 'prediction_log_evictions_total',
    help: 'Rides dropped from the in-memory prediction log before feedback: expired (FEEDBACK_TTL_S) or full (PREDICTION_LOG_MAX).',
    labelNames: ['reason'] as const,
    registers,
    collect,
  });
  const common = { aggregator: 'max' as const, registers, collect };
  const logEntries = new Gauge({
    name: 'prediction_log_entries',
    help: 'Rides in the in-memory prediction log (absent with Redis).',
    ...common,
  });
  const windowTrips = new Gauge({
    name: 'model_drift_window_trips',
    help: 'Trips in the drift window (DRIFT_WINDOW_S of pickup time).',
    ...common,
  });
  const featureDrift = new Gauge({
    name: 'model_feature_drift',
    help: "Drift score of a feature's window against the served version's training reference (absent below DRIFT_MIN_TRIPS).",
    labelNames: ['feature', 'method'] as const,
    ...common,
  });
  const featureThreshold = new Gauge({
    name: 'model_feature_drift_threshold',
    help: 'The noise level the drift score must exceed: bootstrap 99th percentile for the window size (docs/drift.md).',
    labelNames: ['feature'] as const,
    ...common,
  });
  const featureDrifted = new Gauge({
    name: 'model_feature_drifted',
    help: '1 when the feature drifted: score above its noise level and at least the minimum effect (pickup_dow: never).',
    labelNames: ['feature'] as const,
    ...common,
  });
  const driftedFeatures = new Gauge({ name: 'model_drifted_features', help: 'Features drifted in the current window.', ...common });
  const gauges = [logEntries, windowTrips, featureDrift, featureThreshold, featureDrifted, driftedFeatures];

  async function refresh(): Promise<void> {
    const s = await (readState?.() ?? Promise.resolve(undefined)).catch(() => undefined);
    for (const g of gauges) g.reset();
    if (s === undefined) return;
    if (s.logEntries !== undefined) logEntries.set(s.logEntries);
    windowTrips.set(s.windowTrips);
    if (s.evicted.expired > 0) evictions.labels('expired').inc(s.evicted.expired);
    if (s.evicted.full > 0) evictions.labels('full').inc(s.evicted.full);
    if (s.drift === undefined) return;
    let drifted = 0;
    for (const f of s.drift) {
      if (Number.isFinite(f.score)) featureDrift.labels(f.feature, f.method).set(f.score);
      featureThreshold.labels(f.feature).set(f.threshold);
      featureDrifted.labels(f.feature).set(f.drifted ? 1 : 0);
      if (f.drifted) drifted++;
    }
    driftedFeatures.set(drifted);
  }

  return {
    feedback,
    squaredError,
    absoluteError,
    signedError,
    intervalHits,
    logErrors,
    trainingRmse,
    setStateSource(read) {
      readState = read;
    },
  };
}
