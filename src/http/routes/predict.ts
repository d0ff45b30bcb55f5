/**
 * POST /predict: validate → featurize → one ONNX run → response. A single trip answers
 * `{"duration", "model_version"}` (the course's response); a batch answers `{"predictions": [...]}`.
 */
import type { Request, Response } from 'express';
import { ServiceError } from '../../errors.js';
import { tripsToColumns, type Trip } from '../../features/trip-inputs.js';
import type { ModelSlot } from '../../model/model-slot.js';
import type { Metrics } from '../../observability/metrics.js';
import { parsePredictRequest } from '../trip-schema.js';

export interface PredictDeps {
  slot: ModelSlot;
  metrics: Metrics;
  maxBatch: number;
}

/** Minutes, rounded to 0.001 (60 ms): float32 noise in the last digits would only look like precision. */
function minutes(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * `inference;dur=<ms>, total;dur=<ms>` (W3C Server-Timing): the ONNX run, and the time since the request
 * arrived (body read, validation and serialization included). Lets clients and the benchmark tell
 * server time from network time.
 */
function serverTiming(inferenceMs: number, startedAt: number | undefined): string {
  const inference = `inference;dur=${inferenceMs.toFixed(3)}`;
  return startedAt === undefined ? inference : `${inference}, total;dur=${(performance.now() - startedAt).toFixed(3)}`;
}

export function predictHandler({ slot, metrics, maxBatch }: PredictDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const lease = slot.acquire();
    if (lease === undefined) {
      throw new ServiceError('model_not_ready', 'no model is loaded yet; retry shortly');
    }
    try {
      const info = lease.model.info;
      const m = metrics.forModel(info.modelVersion);
      res.locals.modelVersion = info.modelVersion;

      let request;
      try {
        request = parsePredictRequest(req.body, maxBatch);
      } catch (err) {
        m.invalid.inc();
        throw err;
      }
      const trips: Trip[] = request.kind === 'single' ? [request.trip] : request.trips;
      const n = trips.length;
      const columns = tripsToColumns(trips, Date.now());

      const started = performance.now();
      let durations: Float32Array;
      try {
        durations = await lease.model.run(columns, n);
        for (let i = 0; i < n; i++) {
          if (!Number.isFinite(durations[i])) {
            throw new ServiceError('inference_failed', `the model returned ${durations[i]} for trip ${i}`);
          }
        }
      } catch (err) {
        m.error.inc();
        throw err;
      }
      const inferenceMs = performance.now() - started;
      m.inferenceSeconds.observe(inferenceMs / 1000);
      m.success.inc();
      metrics.batchSize.observe(n);
      for (let i = 0; i < n; i++) m.predictedMinutes.observe(durations[i]);

      const version = JSON.stringify(info.modelVersion);
      let body: string;
      if (request.kind === 'single') {
        body = `{"duration":${minutes(durations[0])},"model_version":${version}}`;
      } else {
        const parts = new Array<string>(n);
        for (let i = 0; i < n; i++) parts[i] = `{"duration":${minutes(durations[i])}}`;
        body = `{"predictions":[${parts.join(',')}],"model_version":${version}}`;
      }
      res.statusCode = 200;
      res.setHeader('Server-Timing', serverTiming(inferenceMs, res.locals.startedAt as number | undefined));
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    } finally {
      slot.release(lease);
    }
  };
}
