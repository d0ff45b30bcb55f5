/**
 * The monitoring hub: the state that must see all of a service's traffic at once — the drift window
 * and the accuracy sums per model version, and the in-memory prediction log when there is no Redis.
 * One process holds it: the server itself, or with WORKERS > 1 the cluster primary, which workers
 * reach through cluster-link.ts.
 */
import type { MonitoringGaugeState } from '../observability/monitoring-metrics.js';
import { mergeDelta, summarize, type AccuracyDelta, type VersionAccuracy } from './accuracy.js';
import type { DriftReference } from './drift.js';
import { DriftWindow } from './drift-window.js';
import type { Config } from '../config.js';
import { MemoryPredictionLog } from './prediction-log.js';

/** What a worker tells the hub about a model version the first time it serves it. */
export interface VersionInfo {
  readonly modelVersion: string;
  /** training.json's drift_reference; absent for versions without one (drift is then not judged). */
  readonly reference?: DriftReference;
  readonly trainingRmse?: number;
}

export interface DriftFeatureReport {
  readonly feature: string;
  readonly method: string;
  readonly score: number | null;
  readonly threshold: number;
  readonly min_effect: number;
  readonly drifted: boolean;
  /** Evidently's fixed rule (score ≥ 0.1), shown beside ours. */
  readonly evidently_drifted: boolean;
  readonly monitored: boolean;
}

export type DriftReport =
  | {
      readonly model_version: string;
      readonly available: true;
      readonly reference: string;
      readonly window_s: number;
      readonly min_trips: number;
      readonly trips: number;
      readonly first_seen: string | null;
      readonly last_seen: string | null;
      readonly late_trips: number;
      /** False while the window holds fewer than min_trips: scores are shown, nothing is flagged. */
      readonly verdict: boolean;
      readonly drifted_features: number;
      readonly features: readonly DriftFeatureReport[];
    }
  | { readonly model_version: string | null; readonly available: false; readonly reason: string };

export interface HubSnapshot {
  readonly drift: DriftReport;
  readonly accuracy: readonly VersionAccuracy[];
  /** Rides in the in-memory log (undefined with Redis). */
  readonly logRides: number | undefined;
}

export interface HubOptions {
  windowMs: number;
  minTrips: number;
  /** The embedded prediction log, when this hub's process holds it. */
  memoryLog?: MemoryPredictionLog;
}

/** Windows kept: the served version's and the previous one's (a hot swap overlaps them briefly). */
const MAX_WINDOWS = 2;

export class MonitoringHub {
  private readonly windows = new Map<string, DriftWindow>();
  private readonly references = new Map<string, DriftReference | null>();
  private readonly trainingRmse = new Map<string, number>();
  private readonly sums: AccuracyDelta = {};
  private lastObserved: string | undefined;

  constructor(private readonly options: HubOptions) {}

  get memoryLog(): MemoryPredictionLog | undefined {
    return this.options.memoryLog;
  }

  describe(info: VersionInfo): void {
    if (this.references.has(info.modelVersion)) return;
    this.references.set(info.modelVersion, info.reference ?? null);
    if (info.trainingRmse !== undefined) this.trainingRmse.set(info.modelVersion, info.trainingRmse);
  }

  /** Trips of one version: clocks and bins as DriftWindow.add takes them. Ignored for a version without a reference. */
  observe(modelVersion: string, clockMs: ArrayLike<number>, bins: ArrayLike<number>): void {
    let window = this.windows.get(modelVersion);
    if (window === undefined) {
      const reference = this.references.get(modelVersion);
      if (!reference) return;
      window = new DriftWindow(reference, this.options.windowMs, this.options.minTrips);
      this.windows.set(modelVersion, window);
      if (this.windows.size > MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    } else if (this.lastObserved !== modelVersion) {
      // why: re-insert so the Map's order is least recently observed first (what MAX_WINDOWS evicts).
      this.windows.delete(modelVersion);
      this.windows.set(modelVersion, window);
    }
    this.lastObserved = modelVersion;
    window.add(clockMs, bins);
  }

  account(delta: AccuracyDelta): void {
    mergeDelta(this.sums, delta);
  }

  /** The served version's drift (the last observed one when not given) and every version's accuracy. */
  snapshot(servedVersion?: string): HubSnapshot {
    return {
      drift: this.driftReport(servedVersion ?? this.lastObserved),
      accuracy: summarize(this.sums, this.trainingRmse),
      logRides: this.options.memoryLog?.size,
    };
  }

  /** What the Prometheus gauges show; hands out the log's evictions since the last call. */
  gaugeState(servedVersion?: string): MonitoringGaugeState {
    const drift = this.driftReport(servedVersion ?? this.lastObserved);
    return {
      logEntries: this.options.memoryLog?.size,
      windowTrips: drift.available ? drift.trips : 0,
      drift: drift.available && drift.verdict ? drift.features.map((f) => ({ ...f, score: f.score ?? NaN })) : undefined,
      evicted: this.options.memoryLog?.takeEvictions() ?? { expired: 0, full: 0 },
    };
  }

  private driftReport(version: string | undefined): DriftReport {
    if (version === undefined) return { model_version: null, available: false, reason: 'no prediction yet' };
    const reference = this.references.get(version);
    if (reference === undefined) return { model_version: version, available: false, reason: 'no prediction of this version yet' };
    if (reference === null)
      return { model_version: version, available: false, reason: 'this version has no drift_reference in its training.json' };
    const window = this.windows.get(version);
    const v = window?.judge();
    const iso = (ms: number | undefined) => (ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : null);
    const features: DriftFeatureReport[] = (v?.features ?? []).map((f) => ({
      feature: f.feature,
      method: f.method,
      score: Number.isFinite(f.score) ? f.score : null,
      threshold: f.threshold,
      min_effect: f.min_effect,
      drifted: f.drifted,
      evidently_drifted: f.evidently_drifted,
      monitored: reference.features.find((r) => r.feature === f.feature)?.monitored ?? false,
    }));
    return {
      model_version: version,
      available: true,
      reference: reference.data,
      window_s: this.options.windowMs / 1000,
      min_trips: this.options.minTrips,
      trips: v?.trips ?? 0,
      first_seen: iso(v?.firstSeenMs),
      last_seen: iso(v?.lastSeenMs),
      late_trips: v?.late ?? 0,
      verdict: v?.verdict ?? false,
      drifted_features: features.filter((f) => f.drifted).length,
      features,
    };
  }
}

export type HubConfig = Pick<Config, 'PREDICTION_LOG_MAX' | 'FEEDBACK_TTL_S' | 'REDIS_URL' | 'DRIFT_WINDOW_S' | 'DRIFT_MIN_TRIPS'>;

/** The hub of one service: in the single process, or in the cluster primary (cluster-link.ts's hostMonitoring). */
export function createHub(config: HubConfig, now: () => number = Date.now): MonitoringHub {
  const memoryLog =
    config.REDIS_URL === undefined
      ? new MemoryPredictionLog({ maxRides: config.PREDICTION_LOG_MAX, ttlMs: config.FEEDBACK_TTL_S * 1000, now })
      : undefined;
  return new MonitoringHub({ windowMs: config.DRIFT_WINDOW_S * 1000, minTrips: config.DRIFT_MIN_TRIPS, memoryLog });
}
