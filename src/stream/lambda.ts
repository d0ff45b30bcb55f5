/**
 * The course's Kinesis → Lambda deployment, for teams on AWS (docs/streaming.md, "Kinesis and
 * Lambda"): each record's `kinesis.data` is base64 JSON `{"ride": {...}, "ride_id": 256}`; the answer
 * is `{"predictions": [{"model", "version", "prediction": {"ride_duration", "ride_id"}}]}` in record
 * order, as the course's lambda_function.py returns it. Records that fail validation are left out of
 * `predictions` and listed in `rejected` with their sequence number and the error (the course's
 * handler would crash the whole batch and Kinesis would retry it forever).
 *
 * `publish` is where the predictions go to the output stream (the course puts each one to
 * PREDICTIONS_STREAM_NAME with partition key String(ride_id)); the AWS SDK is not a dependency here,
 * so the team wires it.
 */
import { loadConfig } from '../config.js';
import type { Trip } from '../features/trip-inputs.js';
import { createModelRuntime } from '../model/model-runtime.js';
import type { Predictor } from '../model/predictor.js';
import { createLogger } from '../observability/logger.js';
import { checkRideRecord, predictionRecord } from './records.js';

export interface KinesisEvent {
  Records: { kinesis: { data: string; sequenceNumber?: string; partitionKey?: string } }[];
}

export interface PredictionEvent {
  model: string;
  version: string;
  prediction: { ride_duration: number; ride_id: string | number; ride_duration_p10?: number; ride_duration_p90?: number };
}

export interface KinesisResult {
  predictions: PredictionEvent[];
  rejected?: { sequence_number: string | null; error: string }[];
}

export interface KinesisHandlerDeps {
  predictor: Pick<Predictor, 'predict' | 'rejected'>;
  /** Epoch ms for rides without a pickup time; Date.now by default. */
  now?: () => number;
  /** Called with the predictions before the handler returns (e.g. PutRecords to the output stream). */
  publish?: (predictions: readonly PredictionEvent[]) => Promise<void>;
}

export function createKinesisHandler({
  predictor,
  now = Date.now,
  publish,
}: KinesisHandlerDeps): (event: KinesisEvent) => Promise<KinesisResult> {
  return async (event) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const trips: Trip[] = [];
    const rejected: NonNullable<KinesisResult['rejected']> = [];
    for (const record of records) {
      const sequence = record?.kinesis?.sequenceNumber ?? null;
      const data = record?.kinesis?.data;
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(typeof data === 'string' ? data : '', 'base64').toString('utf8'));
      } catch {
        rejected.push({ sequence_number: sequence, error: 'kinesis.data: not base64-encoded JSON' });
        continue;
      }
      const parsed = checkRideRecord(value);
      if (parsed.ok) trips.push(parsed.trip);
      else rejected.push({ sequence_number: sequence, error: parsed.error });
    }
    for (let i = 0; i < rejected.length; i++) predictor.rejected();
    const predictions: PredictionEvent[] = [];
    if (trips.length > 0) {
      const p = await predictor.predict(trips, now());
      for (let i = 0; i < trips.length; i++) predictions.push(JSON.parse(predictionRecord(p, i)) as PredictionEvent);
    }
    if (publish && predictions.length > 0) await publish(predictions);
    return rejected.length > 0 ? { predictions, rejected } : { predictions };
  };
}

let coldStart: Promise<(event: KinesisEvent) => Promise<KinesisResult>> | undefined;

/**
 * The Lambda entry point (handler `dist/stream/lambda.handler`): like a runner, it alone reads
 * process.env, once, on the cold start, and loads the model as the service does (MODEL_URI and the
 * registry settings; model polling is off, a Lambda's life is short).
 */
export async function handler(event: KinesisEvent): Promise<KinesisResult> {
  coldStart ??= (async () => {
    const config = loadConfig({ ...process.env, MODEL_POLL_INTERVAL_S: '0' });
    const logger = createLogger({ level: config.LOG_LEVEL });
    const runtime = createModelRuntime(config, logger, { cwd: process.cwd(), lifecycle: { draining: false } });
    await runtime.start();
    return createKinesisHandler({ predictor: runtime.predictor });
  })();
  coldStart.catch(() => (coldStart = undefined));
  return (await coldStart)(event);
}
