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
import { ServiceError } from '../errors.js';
import { tripsToColumns, type RideId, type Trip } from '../features/trip-inputs.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelSlot } from './model-slot.js';
import type { ModelInfo, ModelOutputs } from './onnx-model.js';

/** What one `predict` call answers: one entry per trip, in the trips' order. */
export interface Predictions extends ModelOutputs {
  /** `<name>/<version>` of the model that computed every value here. */
  readonly modelVersion: string;
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
}

export interface PredictorDeps {
  slot: ModelSlot;
  metrics: Metrics;
  /** Makes ride ids for trips that carry none; a process-unique sequence by default. */
  newRideId?: () => RideId;
  /** Where a throwing listener is reported (it is a bug; the prediction stands). */
  onListenerError?: (err: unknown) => void;
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

export function createPredictor({ slot, metrics, newRideId = rideIdSequence(), onListenerError }: PredictorDeps): Predictor {
  const listeners: PredictionListener[] = [];
  const invalid = metrics.forModel(NO_MODEL_VERSION).invalid;

  const notify = (event: PredictionEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        onListenerError?.(err);
      }
    }
  };

  return {
    async predict(trips, nowMs) {
      const lease = slot.acquire();
      if (lease === undefined) throw new ServiceError('model_not_ready', 'no model is loaded yet; retry shortly');
      const n = trips.length;
      let predictions: Predictions;
      try {
        const info = lease.model.info;
        const m = metrics.forModel(info.modelVersion);
        const columns = tripsToColumns(trips, nowMs);
        const started = performance.now();
        let out: ModelOutputs;
        try {
          out = await lease.model.run(columns, n);
          checkFinite(out, n);
        } catch (err) {
          m.error.inc();
          throw err;
        }
        const inferenceMs = performance.now() - started;
        m.inferenceSeconds.observe(inferenceMs / 1000);
        m.success.inc();
        metrics.batchSize.observe(n);
        const rideIds = new Array<RideId>(n);
        for (let i = 0; i < n; i++) {
          m.predictedMinutes.observe(out.duration[i]);
          rideIds[i] = trips[i].ride_id ?? newRideId();
        }
        predictions = { ...out, modelVersion: info.modelVersion, rideIds, inferenceMs };
      } finally {
        slot.release(lease);
      }
      if (listeners.length > 0) notify({ trips, predictions, nowMs });
      return predictions;
    },
    rejected() {
      invalid.inc();
    },
    get model() {
      return slot.current?.info;
    },
    onPredictions(listener) {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
  };
}
