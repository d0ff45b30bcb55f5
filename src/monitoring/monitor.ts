/**
 * Model monitoring, the loop a serving system leaves to its users (docs/monitoring.md): every
 * prediction is logged by ride id; ground truth sent to POST /feedback is matched to it and scored per
 * model version; every served trip is counted in the drift window against the served version's training
 * reference. GET /monitoring and /metrics report both.
 *
 * API for other code (the shadow/A-B experiment builds on it):
 *
 *   monitor.logPredictions({ rideIds, modelVersion, duration, p10?, p90?, arm? })
 *     Logs one version's predictions for rides (e.g. a shadow challenger's, under its own version), beside
 *     the served answer the monitor logs by itself. Synchronous, never throws, never waits; arrays may
 *     be reused by the caller afterwards. The served version goes to the drift window; these do not.
 *
 *   monitor.onFeedback(listener) → unsubscribe
 *     `listener({ rideId, actual, predictions: [{ modelVersion, duration, p10?, p90?, arm? }] })` is called
 *     once per matched ride, in the process that received the feedback, with every version's prediction
 *     for it: what paired statistics need. Listeners must be cheap; a throw is logged, never the caller's.
 *
 *   monitor.feedback(items) → {matched, unknown, duplicate};  monitor.snapshot() → GET /monitoring's body.
 *
 * The prediction path does only in-memory work here: the store and the hub link buffer and send later.
 */
import type { Trip, RideId } from '../features/trip-inputs.js';
import { newYorkHourAndDow } from '../features/pickup-time.js';
import type { PredictionEvent, Predictor } from '../model/predictor.js';
import type { Logger } from '../observability/logger.js';
import type { MonitoringGaugeState, MonitoringMetrics } from '../observability/monitoring-metrics.js';
import { addToDelta, intervalSide, type AccuracyDelta, type VersionAccuracy } from './accuracy.js';
import { binIndex, parseDriftReference, type DriftReference } from './drift.js';
import type { DriftReport, HubSnapshot, VersionInfo } from './hub.js';
import type { FeedbackItem, LogBatch, LoggedPrediction, PredictionStore } from './prediction-log.js';

/** How the monitor reaches the hub: the same process, or the cluster primary (cluster-link.ts). */
export interface HubLink {
  describe(info: VersionInfo): void;
  /** Trips of the served version: `clockMs[k]`, and `bins[k * features + f]` per the reference's features. */
  observe(modelVersion: string, clockMs: number[], bins: number[]): void;
  account(delta: AccuracyDelta): void;
  snapshot(servedVersion: string | undefined): Promise<HubSnapshot>;
  gaugeState(servedVersion: string | undefined): Promise<MonitoringGaugeState>;
  close(): Promise<void>;
}

export interface FeedbackEvent {
  readonly rideId: RideId;
  readonly actual: number;
  readonly predictions: readonly LoggedPrediction[];
}
export type FeedbackListener = (event: FeedbackEvent) => void;

export interface FeedbackCounts {
  matched: number;
  unknown: number;
  duplicate: number;
}

export interface MonitoringReport {
  readonly model_version: string | null;
  readonly drift: DriftReport;
  readonly accuracy: readonly VersionAccuracy[];
  readonly prediction_log: {
    readonly store: 'memory' | 'redis';
    readonly rides?: number;
    readonly max_rides?: number;
    readonly ttl_s: number;
  };
}

export interface Monitor {
  logPredictions(batch: LogBatch): void;
  onFeedback(listener: FeedbackListener): () => void;
  feedback(items: readonly FeedbackItem[]): Promise<FeedbackCounts>;
  snapshot(): Promise<MonitoringReport>;
  close(): Promise<void>;
}

export interface MonitorDeps {
  predictor: Predictor;
  metrics: MonitoringMetrics;
  logger: Logger;
  store: PredictionStore;
  link: HubLink;
  settings: { ttlS: number; maxRides: number };
}

/** How a drift feature reads its value from a trip (or from the prediction). */
type Extract = (trip: Trip, i: number, duration: ArrayLike<number>, hour: number, dow: number) => number;
const EXTRACT: Readonly<Record<string, Extract>> = {
  PULocationID: (t) => t.PULocationID,
  DOLocationID: (t) => t.DOLocationID,
  trip_distance: (t) => t.trip_distance,
  pickup_hour: (_t, _i, _d, hour) => hour,
  pickup_dow: (_t, _i, _d, _h, dow) => dow,
  prediction: (_t, i, d) => d[i],
};

interface VersionState {
  readonly reference: DriftReference | undefined;
  readonly extract: readonly Extract[];
}

/** The held-out RMSE in training.json: the yardstick online RMSE is compared with (docs/monitoring.md). */
export function trainingRmseOf(training: Record<string, unknown> | undefined): number | undefined {
  const rmse = (training?.metrics as { validation?: { overall?: { rmse?: unknown } } } | undefined)?.validation?.overall?.rmse;
  return typeof rmse === 'number' && Number.isFinite(rmse) ? rmse : undefined;
}

export function createMonitor({ predictor, metrics, logger, store, link, settings }: MonitorDeps): Monitor {
  const versions = new Map<string, VersionState>();
  const listeners: FeedbackListener[] = [];

  const versionState = (modelVersion: string): VersionState | undefined => {
    const known = versions.get(modelVersion);
    if (known !== undefined) return known;
    const model = predictor.model;
    // why: during a hot swap the event may come from the model just replaced; its reference is not at hand.
    if (model?.modelVersion !== modelVersion) return undefined;
    const reference = parseDriftReference(model.training);
    const unknown = reference?.features.filter((f) => EXTRACT[f.feature] === undefined).map((f) => f.feature) ?? [];
    const usable = reference !== undefined && unknown.length === 0 ? reference : undefined;
    const trainingRmse = trainingRmseOf(model.training);
    if (trainingRmse !== undefined) metrics.trainingRmse.labels(modelVersion).set(trainingRmse);
    if (usable === undefined) {
      logger.warn(
        { model_version: modelVersion, unknown_features: unknown.length > 0 ? unknown : undefined },
        reference === undefined
          ? 'this model version has no drift_reference in training.json: drift is not monitored for it (accuracy still is)'
          : 'the drift reference names features this service cannot read: drift is not monitored for this version',
      );
    }
    link.describe({ modelVersion, reference: usable, trainingRmse });
    const state: VersionState = { reference: usable, extract: usable?.features.map((f) => EXTRACT[f.feature]) ?? [] };
    versions.set(modelVersion, state);
    return state;
  };

  const observe = ({ trips, predictions, nowMs }: PredictionEvent) => {
    store.put(predictions);
    const state = versionState(predictions.modelVersion);
    if (state?.reference === undefined) return;
    const { features } = state.reference;
    const width = features.length;
    const n = trips.length;
    const clock = new Array<number>(n);
    const bins = new Array<number>(n * width);
    let now: { hour: number; dow: number } | undefined;
    for (let i = 0; i < n; i++) {
      const trip = trips[i];
      const pickup = trip.pickup ?? (now ??= newYorkHourAndDow(nowMs));
      clock[i] = trip.pickup?.ms ?? nowMs;
      for (let f = 0; f < width; f++) {
        bins[i * width + f] = binIndex(features[f], state.extract[f](trip, i, predictions.duration, pickup.hour, pickup.dow));
      }
    }
    link.observe(predictions.modelVersion, clock, bins);
  };
  const unsubscribe = predictor.onPredictions(observe);
  metrics.setStateSource(() => link.gaugeState(predictor.model?.modelVersion));

  return {
    logPredictions(batch) {
      try {
        store.put(batch);
      } catch (err) {
        logger.error({ err }, 'logging predictions failed');
      }
    },
    onFeedback(listener) {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
    async feedback(items) {
      const results = await store.match(items);
      const counts: FeedbackCounts = { matched: 0, unknown: 0, duplicate: 0 };
      const delta: AccuracyDelta = {};
      const events: FeedbackEvent[] = [];
      for (let i = 0; i < items.length; i++) {
        const r = results[i];
        if (r === 'unknown' || r === 'duplicate') {
          counts[r]++;
          continue;
        }
        counts.matched++;
        const { actual } = items[i];
        for (const p of r) {
          const e = actual - p.duration;
          metrics.feedback.labels(p.modelVersion, 'matched').inc();
          metrics.squaredError.labels(p.modelVersion).inc(e * e);
          metrics.absoluteError.labels(p.modelVersion).inc(Math.abs(e));
          metrics.signedError.labels(p.modelVersion).observe(e);
          const side = intervalSide(p, actual);
          if (side !== undefined) metrics.intervalHits.labels(p.modelVersion, side).inc();
          addToDelta(delta, p, actual);
        }
        if (listeners.length > 0) events.push({ rideId: items[i].rideId, actual, predictions: r });
      }
      if (counts.unknown > 0) metrics.feedback.labels('unknown', 'unknown').inc(counts.unknown);
      if (counts.duplicate > 0) metrics.feedback.labels('unknown', 'duplicate').inc(counts.duplicate);
      if (counts.matched > 0) link.account(delta);
      for (const event of events) {
        for (const listener of listeners) {
          try {
            listener(event);
          } catch (err) {
            logger.error({ err }, 'a feedback listener failed; the feedback was counted');
          }
        }
      }
      return counts;
    },
    async snapshot() {
      const served = predictor.model?.modelVersion;
      const s = await link.snapshot(served);
      return {
        model_version: served ?? null,
        drift: s.drift,
        accuracy: s.accuracy,
        prediction_log:
          store.kind === 'redis'
            ? { store: 'redis', ttl_s: settings.ttlS }
            : { store: 'memory', rides: s.logRides, max_rides: settings.maxRides, ttl_s: settings.ttlS },
      };
    },
    async close() {
      unsubscribe();
      await Promise.allSettled([store.close(), link.close()]);
    },
  };
}
