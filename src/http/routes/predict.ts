/**
 * POST /predict, the course's protocol: parse → predictor → serialize. A single trip answers
 * `{"duration", "model_version", "ride_id"}` (the course's response plus the ride id); a batch
 * `{"trips": [...]}` answers `{"predictions": [{"duration", "ride_id"}, ...], "model_version"}`; when a split
 * experiment answered the batch with two versions, each prediction also carries its own `model_version`
 * (the top-level one is then the champion's).
 * Models with a prediction interval add `duration_p10` and `duration_p90` to each prediction.
 */
import { parsePredictRequest } from '../../features/trip-schema.js';
import type { Trip } from '../../features/trip-inputs.js';
import type { Predictions, Predictor } from '../../model/predictor.js';
import type { JsonHandler } from '../router.js';
import { minutesJson } from '../../features/minutes.js';

export interface PredictDeps {
  predictor: Predictor;
  maxBatch: number;
  /** Epoch milliseconds; trips without a pickup time are predicted for this moment. */
  now: () => number;
}

/** `"duration":…[,"duration_p10":…,"duration_p90":…],"ride_id":…` of prediction `i`, without braces. */
export function predictionFields(p: Predictions, i: number): string {
  const interval =
    p.p10 === undefined || p.p90 === undefined ? '' : `,"duration_p10":${minutesJson(p.p10[i])},"duration_p90":${minutesJson(p.p90[i])}`;
  return `"duration":${minutesJson(p.duration[i])}${interval},"ride_id":${JSON.stringify(p.rideIds[i])}`;
}

/**
 * `inference;dur=<ms>, total;dur=<ms>` (W3C Server-Timing): the model run, and the time since the request
 * arrived (body read, validation and serialization included). Lets clients and the benchmark tell
 * server time from network time.
 */
export function serverTiming(inferenceMs: number, startedAt: number): string {
  return `inference;dur=${inferenceMs.toFixed(3)}, total;dur=${(performance.now() - startedAt).toFixed(3)}`;
}

export function predictHandler({ predictor, maxBatch, now }: PredictDeps): JsonHandler {
  return async (body, ctx) => {
    let request;
    try {
      request = parsePredictRequest(body, maxBatch);
    } catch (err) {
      predictor.rejected();
      throw err;
    }
    const trips: Trip[] = request.kind === 'single' ? [request.trip] : request.trips;
    const p = await predictor.predict(trips, now());
    ctx.modelVersion = p.modelVersion;
    const version = JSON.stringify(p.modelVersion);
    let text: string;
    if (request.kind === 'single') {
      text = `{${predictionFields(p, 0)},"model_version":${version}}`;
    } else {
      const n = trips.length;
      const parts = new Array<string>(n);
      const versions = p.modelVersions;
      // why: in a split experiment a batch may mix arms; each item then names the version that answered it.
      if (versions === undefined) for (let i = 0; i < n; i++) parts[i] = `{${predictionFields(p, i)}}`;
      else for (let i = 0; i < n; i++) parts[i] = `{${predictionFields(p, i)},"model_version":${JSON.stringify(versions[i])}}`;
      text = `{"predictions":[${parts.join(',')}],"model_version":${version}}`;
    }
    return { body: text, headers: { 'Server-Timing': serverTiming(p.inferenceMs, ctx.startedAt) } };
  };
}
