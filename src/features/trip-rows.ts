/**
 * Trips given as table rows, as the other protocols send them (Open Inference Protocol tensors,
 * MLflow data frames): the model signature's columns (pickup_hour and pickup_dow instead of a pickup
 * time), or /predict's own trip fields. Each row is checked by the one trip validation
 * (trip-schema.ts) plus the two time columns.
 */
import type { FieldError } from '../errors.js';
import type { Trip } from './trip-inputs.js';
import { checkTrip } from './trip-schema.js';

function checkInt(value: unknown, field: string, max: number, what: string, errors: FieldError[]): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) return value;
  errors.push({
    field,
    message: `must be ${what}, an integer from 0 to ${max}, got ${typeof value === 'string' ? 'a string' : (JSON.stringify(value) ?? String(value))}`,
  });
  return 0;
}

const present = (v: unknown) => v !== undefined && v !== null;

/**
 * One row → a Trip, or undefined with its errors pushed (fields named `${prefix}<column>`).
 * pickup_hour and pickup_dow come together, and not with pickup_datetime; with none of them the trip
 * is predicted for now (as /predict does).
 */
export function checkTripRow(row: Record<string, unknown>, prefix: string, errors: FieldError[]): Trip | undefined {
  const before = errors.length;
  const trip = checkTrip(row, prefix, errors);
  const { pickup_hour: hour, pickup_dow: dow } = row;
  if (present(hour) || present(dow)) {
    if (present(row.pickup_datetime)) {
      errors.push({ field: `${prefix}pickup_hour`, message: 'give pickup_hour and pickup_dow, or pickup_datetime, not both' });
    }
    const h = checkInt(hour, `${prefix}pickup_hour`, 23, 'the New York pickup hour', errors);
    const d = checkInt(dow, `${prefix}pickup_dow`, 6, 'the New York pickup weekday (0 = Monday)', errors);
    if (trip !== undefined) trip.pickup = { hour: h, dow: d };
  }
  return errors.length === before ? trip : undefined;
}
