/**
 * Featurization for serving: validated trips → the model's input columns (model-contract.ts).
 * Trips without a pickup time take "now" in New York, as the API promises.
 */
import { allocateInputColumns, type ModelInputColumns } from './model-contract.js';
import { newYorkHourAndDow, type HourAndDow } from './pickup-time.js';

/** A caller's ride id (echoed as sent), or one the predictor made. */
export type RideId = string | number;

/** A trip that passed validation: zones are integers 1–265, the distance is finite, 0–200 miles. */
export interface Trip {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
  /** From pickup_datetime; undefined when the request had none. */
  pickup: HourAndDow | undefined;
  /** The caller's id for this ride; undefined when it sent none. */
  ride_id?: RideId;
}

export function tripsToColumns(trips: readonly Trip[], nowMs: number): ModelInputColumns {
  const columns = allocateInputColumns(trips.length);
  for (let i = 0; i < trips.length; i++) {
    const t = trips[i];
    // why no cache here: newYorkHourAndDow already keeps one lookup per UTC hour.
    const pickup = t.pickup ?? newYorkHourAndDow(nowMs);
    // why: direct typed-array writes instead of setInputRow: no row object per trip on the hot path.
    columns.PULocationID[i] = BigInt(t.PULocationID);
    columns.DOLocationID[i] = BigInt(t.DOLocationID);
    columns.trip_distance[i] = t.trip_distance;
    columns.pickup_hour[i] = BigInt(pickup.hour);
    columns.pickup_dow[i] = BigInt(pickup.dow);
  }
  return columns;
}
