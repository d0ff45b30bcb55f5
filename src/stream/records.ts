/**
 * The stream's record formats (docs/streaming.md, "Records"), shared by the Redis consumer and the
 * Lambda adapter. Input: the course's `{"ride": {...}, "ride_id": 256}`; output: the course's
 * `{"model", "version", "prediction": {"ride_duration", "ride_id"}}`, plus the interval when the model
 * has one. Validation is the service's own (features/trip-schema.ts).
 */
import type { FieldError } from '../errors.js';
import type { RideId, Trip } from '../features/trip-inputs.js';
import { checkRideId, checkTrip } from '../features/trip-schema.js';
import { minutesJson } from '../features/minutes.js';
import type { Predictions } from '../model/predictor.js';

/** The course's model name in every output record. */
export const OUTPUT_MODEL_NAME = 'ride_duration_prediction_model';

/** A record that can be predicted, or why it cannot. */
export type ParsedRecord = { ok: true; trip: Trip; rideId: RideId } | { ok: false; error: string };

const MAX_RECORD_BYTES = 64 * 1024;

function listErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/** Parses one record's JSON text; never throws. */
export function parseRideRecord(text: string | undefined): ParsedRecord {
  if (text === undefined) return { ok: false, error: 'data: the entry has no data field' };
  if (text.length > MAX_RECORD_BYTES) return { ok: false, error: `data: longer than ${MAX_RECORD_BYTES} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `data: not JSON (${(err as Error).message})` };
  }
  return checkRideRecord(value);
}

/** Validates a decoded record: a `ride` object and a `ride_id` (required: it is the key of exactly-once). */
export function checkRideRecord(value: unknown): ParsedRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: 'data: must be a JSON object {"ride": {...}, "ride_id": ...}' };
  }
  const record = value as Record<string, unknown>;
  const errors: FieldError[] = [];
  const rideId = checkRideId(record.ride_id, 'ride_id', errors);
  if (rideId === undefined && errors.length === 0)
    errors.push({ field: 'ride_id', message: 'is required: each ride is predicted once per ride id' });
  const trip = checkTrip(record.ride, 'ride.', errors);
  if (trip === undefined || rideId === undefined || errors.length > 0) return { ok: false, error: listErrors(errors) };
  trip.ride_id = rideId;
  return { ok: true, trip, rideId };
}

/** The output record of prediction `i`, as JSON text. */
export function predictionRecord(p: Predictions, i: number): string {
  const interval =
    p.p10 === undefined || p.p90 === undefined
      ? ''
      : `,"ride_duration_p10":${minutesJson(p.p10[i])},"ride_duration_p90":${minutesJson(p.p90[i])}`;
  return (
    `{"model":"${OUTPUT_MODEL_NAME}","version":${JSON.stringify(p.modelVersion)},` +
    `"prediction":{"ride_duration":${minutesJson(p.duration[i])}${interval},"ride_id":${JSON.stringify(p.rideIds[i])}}}`
  );
}
