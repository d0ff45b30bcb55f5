import { binCounts, judgeDrift, type DriftReference, type FeatureDrift } from '../monitoring/drift.js';
import { selectTrips, type TripTable } from '../data/trip-filter.js';

export interface WindowVerdict {
  /** YYYY-MM-DD, the pickup date in New York. */
  readonly date: string;
  readonly trips: number;
  readonly verdicts: FeatureDrift[];
}

/** The monitored columns of a set of trips and their predictions, by drift feature name. */
export function driftColumns(trips: TripTable, prediction: ArrayLike<number>): Record<string, ArrayLike<number>> {
  return {
    PULocationID: trips.puLocationId,
    DOLocationID: trips.doLocationId,
    trip_distance: trips.tripDistance,
    pickup_hour: trips.pickupHour,
    pickup_dow: trips.pickupDow,
    prediction,
  };
}

/** Judges a set of trips as one window. */
export function judgeTrips(reference: DriftReference, trips: TripTable, prediction: ArrayLike<number>): FeatureDrift[] {
  const columns = driftColumns(trips, prediction);
  return judgeDrift(reference, Object.fromEntries(reference.features.map((f) => [f.feature, binCounts(f, columns[f.feature])])));
}

/** One window per pickup date of `month` (YYYY-MM; New York time, as the files store it). */
export function dailyWindows(reference: DriftReference, trips: TripTable, prediction: ArrayLike<number>, month: string): WindowVerdict[] {
  const dates = new Map<string, number[]>();
  for (let i = 0; i < trips.rows; i++) {
    const date = new Date(trips.pickupMs[i]).toISOString().slice(0, 10);
    if (!date.startsWith(month)) continue;
    const rows = dates.get(date) ?? [];
    rows.push(i);
    dates.set(date, rows);
  }
  // sort() without a comparator: code-unit order, which is date order for ISO dates, on every machine
  return [...dates.keys()].sort().map((date) => {
    const rows = dates.get(date)!;
    const keep = new Uint8Array(trips.rows);
    for (const i of rows) keep[i] = 1;
    return {
      date,
      trips: rows.length,
      verdicts: judgeTrips(
        reference,
        selectTrips(trips, (i) => keep[i] === 1),
        rows.map((i) => prediction[i]),
      ),
    };
  });
}
