/**
 * What POST /feedback accepts: `{"ride_id", "actual_duration"}` or `{"feedback": [ … ]}` of at most
 * MAX_BATCH items. Checked like /predict's trips (src/features/trip-schema.ts): each message names the
 * field and the rule it breaks; unknown extra fields are ignored.
 */
import { ServiceError, type FieldError } from '../errors.js';
import { checkRideId, describeValue, invalidInput } from '../features/trip-schema.js';
import type { FeedbackItem } from './prediction-log.js';

/** A day: a longer "ride" is a data error, not a ride. */
export const MAX_ACTUAL_MINUTES = 1440;

function checkItem(value: unknown, prefix: string, errors: FieldError[]): FeedbackItem | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    errors.push({
      field: prefix === '' ? '(body)' : prefix.slice(0, -1),
      message: `must be a JSON object with ride_id and actual_duration, got ${describeValue(value)}`,
    });
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const before = errors.length;
  const rideId = checkRideId(record.ride_id, `${prefix}ride_id`, errors);
  if (rideId === undefined && errors.length === before) {
    errors.push({ field: `${prefix}ride_id`, message: 'is required: the ride_id the prediction answered' });
  }
  const actual = record.actual_duration;
  if (!(typeof actual === 'number' && Number.isFinite(actual) && actual > 0 && actual <= MAX_ACTUAL_MINUTES)) {
    errors.push({
      field: `${prefix}actual_duration`,
      message:
        actual === undefined
          ? `is required: the ride's duration in minutes, more than 0 and at most ${MAX_ACTUAL_MINUTES}`
          : `must be a number of minutes, more than 0 and at most ${MAX_ACTUAL_MINUTES}, got ${describeValue(actual)}`,
    });
  }
  return errors.length === before ? { rideId: rideId!, actual: actual as number } : undefined;
}

/** Throws ServiceError('invalid_input') listing each bad field, or ('batch_too_large'). */
export function parseFeedbackRequest(body: unknown, maxBatch: number): FeedbackItem[] {
  const errors: FieldError[] = [];
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'feedback' in body) {
    const list = (body as { feedback: unknown }).feedback;
    if (!Array.isArray(list) || list.length === 0) {
      throw invalidInput([{ field: 'feedback', message: `must be a non-empty array of at most ${maxBatch} items` }], 1);
    }
    if (list.length > maxBatch) {
      throw new ServiceError('batch_too_large', `the feedback batch has ${list.length} items; the limit is ${maxBatch}`);
    }
    const items: FeedbackItem[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const item = checkItem(list[i], `feedback[${i}].`, errors);
      if (item !== undefined) items[i] = item;
    }
    if (errors.length > 0) throw invalidInput(errors, errors.length);
    return items;
  }
  const item = checkItem(body, '', errors);
  if (item === undefined) throw invalidInput(errors, errors.length);
  return [item];
}
