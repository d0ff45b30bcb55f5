/**
 * The predictor: validated trips in, predictions out, whatever the protocol. Every front end (POST
 * /predict, the other HTTP protocols, batch scoring, the stream consumer) calls `predict`; none of
 * them leases the model, featurizes, checks outputs or counts per-model metrics itself.
 *
 * Order, for every call: validation has already happened in the front end (so a bad request never
 * needs a model, and is counted under model_version="none"); then lease → featurize → one model run
 * (possibly joined with others by the batcher the updater installed) → finite check → metrics →
 * release → listeners (the prediction log, drift) → the caller serializes.
 *
 * The clock is the caller's: trips without a pickup time are predicted for `nowMs` in New York.
 */
import { randomBytes } from 'node:crypto';
import { ServiceError, modelNotReady } from '../errors.js';
import { isChallengerRide } from './arm.js';
import type { ModelInputColumns } from '../features/model-contract.js';
import { tripsToColumns, type RideId, type Trip } from '../features/trip-inputs.js';
import type { Counter } from 'prom-client';
import type { ChallengerOutcome } from '../observability/experiment-metrics.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelSlot } from './model-slot.js';
import type { ModelInfo, ModelOutputs } from './onnx-model.js';

/** What one `predict` call answers: one entry per trip, in the trips' order. */
export interface Predictions extends ModelOutputs {
  /** `<name>/<version>` of the model that computed every value here (the champion's when `modelVersions` is set). */
  readonly modelVersion: string;
  /**
   * Split experiments only, when this batch mixed arms: the version that answered each trip. Absent when
   * `modelVersion` answered them all (always for a single trip).
   */
  readonly modelVersions?: readonly string[];
  /** The trip's own ride id, or one the predictor made (unique per process start). */
  readonly rideIds: readonly RideId[];
  /** Time of the model run, milliseconds (Server-Timing's `inference`). */
  readonly inferenceMs: number;
}

/** Given to listeners after each successful call; the arrays belong to the call, do not keep them past it. */
export interface PredictionEvent {
  readonly trips: readonly Trip[];
  readonly predictions: Predictions;
  readonly nowMs: number;
}

export type PredictionListener = (event: PredictionEvent) => void;

/** A shadow run: the challenger's predictions for trips the champion answered (`champion`), same ride ids. */
export interface ShadowEvent extends PredictionEvent {
  readonly champion: Predictions;
}

export type ShadowListener = (event: ShadowEvent) => void;

export type ChallengerMode = 'shadow' | 'split';

/** The challenger arm (docs/experiments.md): its own slot, loaded and swapped by its own updater. */
export interface ChallengerDeps {
  slot: ModelSlot;
  mode: ChallengerMode;
  /** split: the share of rides (0–100) it answers, by a stable hash of the ride id (model/arm.ts). */
  percent: number;
  /** Where a challenger failure is reported (it never reaches the caller). */
  onError?: (err: unknown, mode: ChallengerMode) => void;
  /** shadow: most challenger runs in progress at once; beyond, trips are skipped (counted), never queued. */
  maxShadowInFlight?: number;
}

export interface Predictor {
  /**
   * Predicts every trip with the served model. Rejects with ServiceError 'model_not_ready' when no
   * model is loaded, 'inference_failed' when the run fails or returns a non-finite value.
   */
  predict(trips: readonly Trip[], nowMs: number): Promise<Predictions>;
  /** Counts one request whose input was rejected before prediction. */
  rejected(): void;
  /** The served model, for metadata (version, signature, training record); undefined before the first load. */
  readonly model: ModelInfo | undefined;
  /**
   * Calls `listener` synchronously after every successful prediction. Listeners must be cheap and must
   * not throw (a throw is caught and counted as the listener's bug, never the caller's failure).
   */
  onPredictions(listener: PredictionListener): () => void;
  /** The challenger model and mode; undefined without a challenger (`model` undefined until it loads). */
  readonly challenger: { readonly mode: ChallengerMode; readonly percent: number; readonly model: ModelInfo | undefined } | undefined;
  /**
   * Shadow mode: calls `listener` after each challenger run, off the response path, with its predictions
   * beside the champion's. Same rules as onPredictions.
   */
  onShadowPredictions(listener: ShadowListener): () => void;
}

export interface PredictorDeps {
  slot: ModelSlot;
  metrics: Metrics;
  /** Makes ride ids for trips that carry none; a process-unique sequence by default. */
  newRideId?: () => RideId;
  /** Where a throwing listener is reported (it is a bug; the prediction stands). */
  onListenerError?: (err: unknown) => void;
  /** A challenger beside the served model: shadow or split (docs/experiments.md). */
  challenger?: ChallengerDeps;
}

/** Base 36 of 0…1295: unpadded for the first block of ids, two digits wide after it. */
const LOW_DIGITS = Array.from({ length: 1296 }, (_, i) => i.toString(36));
const LOW_DIGITS_PADDED = LOW_DIGITS.map((d) => d.padStart(2, '0'));

/**
 * `<8 hex chars of this process>-<base-36 counter>`: unique across workers and replicas without coordination.
 * why the tables: a batch makes one id per trip, and a base-36 conversion per id cost more than the rest
 * of the id; here the high digits change once per 1,296 ids and the last two come from a table.
 */
export function rideIdSequence(prefix = randomBytes(4).toString('hex')): () => string {
  let next = 0;
  let head = `${prefix}-`;
  let low = LOW_DIGITS;
  return () => {
    const i = next % 1296;
    if (i === 0 && next > 0) {
      head = `${prefix}-${(next / 1296).toString(36)}`;
      low = LOW_DIGITS_PADDED;
    }
    next++;
    return head + low[i];
  };
}

/** The label of requests rejected before any model was involved. */
export const NO_MODEL_VERSION = 'none';

function checkFinite(out: ModelOutputs, n: number): void {
  const { duration, p10, p90 } = out;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(duration[i])) {
      throw new ServiceError('inference_failed', `the model returned ${duration[i]} for trip ${i}`);
    }
  }
  if (p10 === undefined || p90 === undefined) return;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(p10[i]) || !Number.isFinite(p90[i])) {
      throw new ServiceError('inference_failed', `the model returned the interval [${p10[i]}, ${p90[i]}] for trip ${i}`);
    }
  }
}

interface Run {
  readonly out: ModelOutputs;
  readonly info: ModelInfo;
  readonly inferenceMs: number;
  readonly columns: ModelInputColumns;
}

/** A run's answer for these rides, under the version that ran it. */
function predictionsOf(r: Run, rideIds: readonly RideId[]): Predictions {
  // why: named fields, not `...r.out`: spreading the run's outputs cost ≈ 2 µs a request in a CPU profile.
  const { duration, p10, p90 } = r.out;
  return { duration, p10, p90, modelVersion: r.info.modelVersion, rideIds, inferenceMs: r.inferenceMs };
}

const DEFAULT_MAX_SHADOW_IN_FLIGHT = 64;

export function createPredictor({ slot, metrics, newRideId = rideIdSequence(), onListenerError, challenger }: PredictorDeps): Predictor {
  const listeners: PredictionListener[] = [];
  const shadowListeners: ShadowListener[] = [];
  const invalid = metrics.forModel(NO_MODEL_VERSION).invalid;

  const notify = <E>(list: readonly ((event: E) => void)[], event: E) => {
    for (const listener of list) {
      try {
        listener(event);
      } catch (err) {
        onListenerError?.(err);
      }
    }
  };

  /**
   * lease → featurize (unless the columns are given) → one run → finite check → metrics → release.
   * `served` = this run answers the caller: counted in predictions_total (a shadow run is not).
   */
  const run = async (from: ModelSlot, trips: readonly Trip[], nowMs: number, served: boolean, given?: ModelInputColumns): Promise<Run> => {
    const lease = from.acquire();
    if (lease === undefined) throw modelNotReady();
    const n = trips.length;
    try {
      const info = lease.model.info;
      const m = metrics.forModel(info.modelVersion);
      const columns = given ?? tripsToColumns(trips, nowMs);
      const started = performance.now();
      let out: ModelOutputs;
      try {
        out = await lease.model.run(columns, n);
        checkFinite(out, n);
      } catch (err) {
        if (served) m.error.inc();
        throw err;
      }
      const inferenceMs = performance.now() - started;
      m.inferenceSeconds.observe(inferenceMs / 1000);
      if (served) m.success.inc();
      for (let i = 0; i < n; i++) m.predictedMinutes.observe(out.duration[i]);
      return { out, info, inferenceMs, columns };
    } finally {
      from.release(lease);
    }
  };

  const rideIdsOf = (trips: readonly Trip[]): RideId[] => {
    const rideIds = new Array<RideId>(trips.length);
    for (let i = 0; i < trips.length; i++) rideIds[i] = trips[i].ride_id ?? newRideId();
    return rideIds;
  };

  const answer = (trips: readonly Trip[], predictions: Predictions, nowMs: number): Predictions => {
    metrics.batchSize.observe(trips.length);
    if (listeners.length > 0) notify(listeners, { trips, predictions, nowMs });
    return predictions;
  };

  const experiment = challenger === undefined ? undefined : createArms(challenger, metrics, run, (event) => notify(shadowListeners, event));

  return {
    async predict(trips, nowMs) {
      if (experiment?.mode === 'split') {
        if (!slot.ready) throw modelNotReady();
        const rideIds = rideIdsOf(trips);
        const split = await experiment.split(slot, trips, rideIds, nowMs);
        if (split !== undefined) return answer(trips, split, nowMs);
        const r = await run(slot, trips, nowMs, true);
        return answer(trips, predictionsOf(r, rideIds), nowMs);
      }
      const r = await run(slot, trips, nowMs, true);
      const predictions = answer(trips, predictionsOf(r, rideIdsOf(trips)), nowMs);
      experiment?.shadow(trips, predictions, nowMs, r.columns);
      return predictions;
    },
    rejected() {
      invalid.inc();
    },
    get model() {
      return slot.current?.info;
    },
    get challenger() {
      return challenger === undefined
        ? undefined
        : { mode: challenger.mode, percent: challenger.percent, model: challenger.slot.current?.info };
    },
    onPredictions(listener) {
      return subscribe(listeners, listener);
    },
    onShadowPredictions(listener) {
      return subscribe(shadowListeners, listener);
    },
  };
}

function subscribe<L>(list: L[], listener: L): () => void {
  list.push(listener);
  return () => {
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  };
}

type RunFn = (from: ModelSlot, trips: readonly Trip[], nowMs: number, served: boolean, given?: ModelInputColumns) => Promise<Run>;

/**
 * The challenger arm. Whatever it does, the caller gets the champion's answer when the challenger has
 * none: its failures are counted (challenger_predictions_total) and reported, never thrown.
 */
function createArms(challenger: ChallengerDeps, metrics: Metrics, run: RunFn, notifyShadow: (event: ShadowEvent) => void) {
  const { slot: challengerSlot, mode, percent, onError } = challenger;
  const maxShadow = challenger.maxShadowInFlight ?? DEFAULT_MAX_SHADOW_IN_FLIGHT;
  const { challengerPredictions, shadowAbsoluteDifference } = metrics.experiment;
  const counters = new Map<string, Counter.Internal>();
  const count = (version: string, outcome: ChallengerOutcome, n: number) => {
    const key = `${version} ${outcome}`;
    let child = counters.get(key);
    if (child === undefined) {
      child = challengerPredictions.labels(mode, version, outcome);
      counters.set(key, child);
    }
    child.inc(n);
  };
  const currentVersion = () => challengerSlot.current?.info.modelVersion ?? NO_MODEL_VERSION;
  const failed = (err: unknown, n: number) => {
    const notLoaded = err instanceof ServiceError && err.code === 'model_not_ready';
    count(notLoaded ? NO_MODEL_VERSION : currentVersion(), notLoaded ? 'not_loaded' : 'error', n);
    if (!notLoaded) onError?.(err, mode);
  };
  let shadowInFlight = 0;

  const runShadow = async (trips: readonly Trip[], champion: Predictions, nowMs: number, columns: ModelInputColumns) => {
    const n = trips.length;
    let r: Run;
    try {
      r = await run(challengerSlot, trips, nowMs, false, columns);
    } catch (err) {
      failed(err, n);
      return;
    }
    count(r.info.modelVersion, 'success', n);
    for (let i = 0; i < n; i++) shadowAbsoluteDifference.observe(Math.abs(champion.duration[i] - r.out.duration[i]));
    notifyShadow({
      trips,
      nowMs,
      champion,
      predictions: predictionsOf(r, champion.rideIds),
    });
  };

  return {
    mode,
    /** Shadow: runs the challenger on the same trips after the caller's answer is on its way. */
    shadow(trips: readonly Trip[], champion: Predictions, nowMs: number, columns: ModelInputColumns): void {
      if (mode !== 'shadow') return;
      const n = trips.length;
      if (!challengerSlot.ready) return count(NO_MODEL_VERSION, 'not_loaded', n);
      if (shadowInFlight >= maxShadow) return count(currentVersion(), 'skipped', n);
      shadowInFlight++;
      // why setImmediate: the caller's continuation (serialize, write the response) runs first, in this turn's microtasks.
      setImmediate(() => {
        void runShadow(trips, champion, nowMs, columns).finally(() => shadowInFlight--);
      });
    },
    /**
     * Split: the challenger answers the rides whose hash falls in its share. Undefined = the champion
     * answers every trip (no ride in the challenger's share, or the challenger could not answer them).
     */
    async split(championSlot: ModelSlot, trips: readonly Trip[], rideIds: RideId[], nowMs: number): Promise<Predictions | undefined> {
      const n = trips.length;
      const mine = new Uint8Array(n);
      let k = 0;
      for (let i = 0; i < n; i++) if (isChallengerRide(rideIds[i], percent)) (mine[i] = 1), k++;
      if (k === 0) return undefined;
      if (!challengerSlot.ready) return void count(NO_MODEL_VERSION, 'not_loaded', k);
      if (k === n) {
        try {
          const r = await run(challengerSlot, trips, nowMs, true);
          count(r.info.modelVersion, 'success', n);
          return predictionsOf(r, rideIds);
        } catch (err) {
          failed(err, n);
          return undefined;
        }
      }
      const theirs = trips.filter((_, i) => mine[i] === 0);
      const ours = trips.filter((_, i) => mine[i] === 1);
      const [champion, chosen] = await Promise.all([
        run(championSlot, theirs, nowMs, true),
        run(challengerSlot, ours, nowMs, true).then(
          (r) => (count(r.info.modelVersion, 'success', k), r),
          (err: unknown) => (failed(err, k), undefined),
        ),
      ]);
      const other = chosen ?? (await run(championSlot, ours, nowMs, true));
      return merge(mine, champion, other, rideIds);
    },
  };
}

/** Puts two arms' outputs back in the trips' order; intervals only when both arms have them. */
function merge(mine: Uint8Array, champion: Run, challenger: Run, rideIds: RideId[]): Predictions {
  const n = mine.length;
  const intervals = champion.out.p10 !== undefined && challenger.out.p10 !== undefined;
  const duration = new Float32Array(n);
  const p10 = intervals ? new Float32Array(n) : undefined;
  const p90 = intervals ? new Float32Array(n) : undefined;
  const modelVersions = new Array<string>(n);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    const [r, j] = mine[i] === 1 ? [challenger, b++] : [champion, a++];
    duration[i] = r.out.duration[j];
    if (p10 && p90) (p10[i] = r.out.p10![j]), (p90[i] = r.out.p90![j]);
    modelVersions[i] = r.info.modelVersion;
  }
  const uniform = champion.info.modelVersion === challenger.info.modelVersion;
  return {
    duration,
    ...(p10 && p90 ? { p10, p90 } : {}),
    modelVersion: champion.info.modelVersion,
    ...(uniform ? {} : { modelVersions }),
    rideIds,
    inferenceMs: Math.max(champion.inferenceMs, challenger.inferenceMs),
  };
}
