/**
 * What a valid trip is, checked in one place for every front end (POST /predict, the other HTTP
 * protocols, the stream consumer). Hand-written rather than a zod schema: it is on the hot path
 * (docs/performance.md) and each message names the field and the rule it breaks.
 *
 * Unknown extra fields are ignored: the course's clients send whole TLC records with more keys, and
 * rejecting them would break those clients for no gain. Types are strict: "10" is not a zone.
 */
import { ServiceError, type FieldError } from '../errors.js';
import type { RideId, Trip } from './trip-inputs.js';
import { pickupHourAndDow } from './pickup-time.js';

export const MAX_ZONE = 265;
export const MAX_DISTANCE_MILES = 200;
/** A batch of 10,000 bad trips must not produce a 10,000-entry error list. */
export const MAX_LISTED_ERRORS = 100;

export type PredictRequest = { kind: 'single'; trip: Trip } | { kind: 'batch'; trips: Trip[] };

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  return typeof value === 'object' ? 'an object' : String(value);
}

function checkZone(value: unknown, field: string, errors: FieldError[]): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ZONE) return value;
  errors.push({
    field,
    message:
      value === undefined
        ? `is required: an integer zone ID from 1 to ${MAX_ZONE}`
        : `must be an integer zone ID from 1 to ${MAX_ZONE}, got ${describeValue(value)}`,
  });
  return 0;
}

function checkDistance(value: unknown, field: string, errors: FieldError[]): number {
  if (typeof value === 'number' && value >= 0 && value <= MAX_DISTANCE_MILES) return value;
  errors.push({
    field,
    message:
      value === undefined
        ? `is required: a distance in miles from 0 to ${MAX_DISTANCE_MILES}`
        : `must be a number of miles from 0 to ${MAX_DISTANCE_MILES}, got ${describeValue(value)}`,
  });
  return 0;
}

/** Ride ids are echoed, logged and used as keys of the prediction log: short and printable only. */
export const RIDE_ID_TEXT = /^[A-Za-z0-9._:/-]{1,64}$/;
export const RIDE_ID_RULE = 'a non-negative integer, or 1–64 characters from A-Z a-z 0-9 . _ : / -';

/** Checks an optional ride id; undefined and null mean "none" (the predictor makes one). */
export function checkRideId(value: unknown, field: string, errors: FieldError[]): RideId | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' ? Number.isSafeInteger(value) && value >= 0 : typeof value === 'string' && RIDE_ID_TEXT.test(value)) {
    return value as RideId;
  }
  errors.push({ field, message: `must be ${RIDE_ID_RULE}, got ${describeValue(value)}` });
  return undefined;
}

/**
 * Validates one trip object; pushes its errors with `prefix` (`` or `trips[3].`). A `ride_id` field
 * of the object is read too (the stream's records keep the ride id beside the trip and set it on the
 * returned trip afterwards).
 */
export function checkTrip(value: unknown, prefix: string, errors: FieldError[]): Trip | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    errors.push({
      field: prefix === '' ? '(body)' : prefix.slice(0, -1),
      message: `must be a JSON object with PULocationID, DOLocationID and trip_distance, got ${describeValue(value)}`,
    });
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const before = errors.length;
  const trip: Trip = {
    PULocationID: checkZone(record.PULocationID, `${prefix}PULocationID`, errors),
    DOLocationID: checkZone(record.DOLocationID, `${prefix}DOLocationID`, errors),
    trip_distance: checkDistance(record.trip_distance, `${prefix}trip_distance`, errors),
    pickup: undefined,
    ride_id: checkRideId(record.ride_id, `${prefix}ride_id`, errors),
  };
  const when = record.pickup_datetime;
  if (when !== undefined && when !== null) {
    const pickup = typeof when === 'string' && when.length <= 64 ? pickupHourAndDow(when) : undefined;
    const problem =
      pickup === undefined
        ? 'must be an ISO 8601 date-time such as 2021-01-04T08:30:00 or 2021-01-04T13:30:00Z'
        : implausiblePickup(when as string);
    if (problem !== undefined) errors.push({ field: `${prefix}pickup_datetime`, message: problem });
    trip.pickup = pickup;
  }
  return errors.length === before ? trip : undefined;
}

/** Years a taxi pickup can plausibly have; the model was trained on 2021 (docs/api.md). */
export const PICKUP_YEARS = { min: 2000, max: 2100 } as const;

/** Why a well-formed pickup time is still refused, or undefined. */
function implausiblePickup(text: string): string | undefined {
  // why: a date alone would be read as midnight, silently giving the night-time duration.
  if (text.length === 10) return `needs a time of day, such as ${text}T08:30:00 (a date alone would be read as midnight)`;
  const year = Number(text.slice(0, 4));
  if (year < PICKUP_YEARS.min || year > PICKUP_YEARS.max)
    return `year must be between ${PICKUP_YEARS.min} and ${PICKUP_YEARS.max}, got ${year}`;
  return undefined;
}

/** ServiceError('invalid_input') listing at most MAX_LISTED_ERRORS of `errors` (shared with POST /feedback). */
export function invalidInput(errors: FieldError[], total: number): ServiceError {
  const listed = errors.slice(0, MAX_LISTED_ERRORS);
  const more = total > listed.length ? ` (the first ${listed.length} are listed)` : '';
  return new ServiceError('invalid_input', `${total} invalid field${total === 1 ? '' : 's'}${more}`, { errors: listed });
}

/**
 * `{PULocationID, DOLocationID, trip_distance, pickup_datetime?}` or `{"trips": [...]}`.
 * Throws ServiceError('invalid_input') listing each bad field, or ('batch_too_large').
 */
export function parsePredictRequest(body: unknown, maxBatch: number): PredictRequest {
  const errors: FieldError[] = [];
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'trips' in body) {
    const trips = (body as { trips: unknown }).trips;
    if (!Array.isArray(trips) || trips.length === 0) {
      throw invalidInput([{ field: 'trips', message: `must be a non-empty array of at most ${maxBatch} trips` }], 1);
    }
    if (trips.length > maxBatch) {
      throw new ServiceError('batch_too_large', `the batch has ${trips.length} trips; the limit is ${maxBatch}`);
    }
    const valid: Trip[] = new Array(trips.length);
    for (let i = 0; i < trips.length; i++) {
      const trip = checkTrip(trips[i], `trips[${i}].`, errors);
      if (trip !== undefined) valid[i] = trip;
    }
    if (errors.length > 0) throw invalidInput(errors, errors.length);
    return { kind: 'batch', trips: valid };
  }
  const trip = checkTrip(body, '', errors);
  if (trip === undefined) throw invalidInput(errors, errors.length);
  return { kind: 'single', trip };
}
