import { wallClockHourAndDow } from '../features/pickup-time.js';
import type { RawTrips } from './trip-parquet.js';

/** Trips that passed every rule, in the types the model sees (distances already float32). */
export interface TripTable {
  readonly rows: number;
  readonly puLocationId: Int32Array;
  readonly doLocationId: Int32Array;
  readonly tripDistance: Float32Array;
  readonly pickupHour: Int32Array;
  readonly pickupDow: Int32Array;
  /** Pickup time as New York wall-clock time held as UTC epoch ms (as the file stores it): its UTC date is the New York date. */
  readonly pickupMs: Float64Array;
  /** Minutes from pickup to dropoff: the target. */
  readonly duration: Float64Array;
}

export type DropReason = 'missing_field' | 'impossible_pickup_date' | 'zone_out_of_range' | 'negative_distance';

export interface FilterReport {
  readonly rowsRead: number;
  /** Rows left by the standard 1–60 minute duration rule alone (the course's counts). */
  readonly rowsAfterDurationFilter: number;
  /** Rows the duration rule removed, then rows the validity rules removed, by reason. */
  readonly dropped: { readonly duration_outside_1_60_min: number } & Readonly<Record<DropReason, number>>;
  readonly rowsKept: number;
  /** The month the file covers (YYYY-MM), taken from its median pickup. */
  readonly month: string;
}

export const MIN_DURATION_MIN = 1;
export const MAX_DURATION_MIN = 60;
export const MAX_ZONE_ID = 265;
const DAY_MS = 86_400_000;

/**
 * Applies the standard duration rule (1 ≤ minutes ≤ 60, pandas-style: missing times fail it), then
 * drops rows no model should learn from: missing fields, pickups far outside the file's month (the
 * TLC files hold a few 2009 dates), zone ids outside 1–265 and negative distances.
 */
export function filterTrips(raw: RawTrips): { table: TripTable; report: FilterReport } {
  const { start, end, month } = monthWindow(raw.pickupMs);
  const dropped = { duration_outside_1_60_min: 0, missing_field: 0, impossible_pickup_date: 0, zone_out_of_range: 0, negative_distance: 0 };
  const keep = new Uint8Array(raw.rows);
  let kept = 0;
  for (let i = 0; i < raw.rows; i++) {
    const minutes = (raw.dropoffMs[i] - raw.pickupMs[i]) / 60_000;
    if (!(minutes >= MIN_DURATION_MIN && minutes <= MAX_DURATION_MIN)) {
      dropped.duration_outside_1_60_min++;
      continue;
    }
    const reason = invalidReason(raw, i, start, end);
    if (reason) dropped[reason]++;
    else {
      keep[i] = 1;
      kept++;
    }
  }

  const table = allocateTable(kept);
  for (let i = 0, j = 0; i < raw.rows; i++) {
    if (!keep[i]) continue;
    const { hour, dow } = wallClockHourAndDow(new Date(raw.pickupMs[i]));
    table.puLocationId[j] = raw.puLocationId[i];
    table.doLocationId[j] = raw.doLocationId[i];
    table.tripDistance[j] = raw.tripDistance[i];
    table.pickupHour[j] = hour;
    table.pickupDow[j] = dow;
    table.pickupMs[j] = raw.pickupMs[i];
    table.duration[j] = (raw.dropoffMs[i] - raw.pickupMs[i]) / 60_000;
    j++;
  }
  const rowsAfterDurationFilter = raw.rows - dropped.duration_outside_1_60_min;
  return { table, report: { rowsRead: raw.rows, rowsAfterDurationFilter, dropped, rowsKept: kept, month } };
}

function invalidReason(raw: RawTrips, i: number, start: number, end: number): DropReason | undefined {
  const pu = raw.puLocationId[i];
  const dropoff = raw.doLocationId[i];
  const distance = raw.tripDistance[i];
  if (Number.isNaN(pu) || Number.isNaN(dropoff) || Number.isNaN(distance)) return 'missing_field';
  if (raw.pickupMs[i] < start || raw.pickupMs[i] >= end) return 'impossible_pickup_date';
  if (!isZoneId(pu) || !isZoneId(dropoff)) return 'zone_out_of_range';
  if (distance < 0) return 'negative_distance';
  return undefined;
}

function isZoneId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_ZONE_ID;
}

/** The file's month, from its median pickup, widened by a day each side for trips across midnight. */
function monthWindow(pickupMs: Float64Array): { start: number; end: number; month: string } {
  const finite = Float64Array.from(pickupMs.filter(Number.isFinite)).sort();
  const median = new Date(finite.length > 0 ? finite[finite.length >> 1] : 0);
  const y = median.getUTCFullYear();
  const m = median.getUTCMonth();
  return {
    start: Date.UTC(y, m, 1) - DAY_MS,
    end: Date.UTC(y, m + 1, 1) + DAY_MS,
    month: `${y}-${String(m + 1).padStart(2, '0')}`,
  };
}

export function allocateTable(rows: number): TripTable {
  return {
    rows,
    puLocationId: new Int32Array(rows),
    doLocationId: new Int32Array(rows),
    tripDistance: new Float32Array(rows),
    pickupHour: new Int32Array(rows),
    pickupDow: new Int32Array(rows),
    pickupMs: new Float64Array(rows),
    duration: new Float64Array(rows),
  };
}

/** The rows of a table that `keep` accepts, in order. */
export function selectTrips(table: TripTable, keep: (i: number) => boolean): TripTable {
  const index: number[] = [];
  for (let i = 0; i < table.rows; i++) if (keep(i)) index.push(i);
  const out = allocateTable(index.length);
  const columns = ['puLocationId', 'doLocationId', 'tripDistance', 'pickupHour', 'pickupDow', 'pickupMs', 'duration'] as const;
  for (const c of columns) index.forEach((i, j) => (out[c][j] = table[c][i]));
  return out;
}
