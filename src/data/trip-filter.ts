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

/** Why a row is not scored or learned from, in the order the rules are checked. */
export type RowVerdict = 'duration_outside_1_60_min' | DropReason;

/** The pickups a file's rows may have: its month, widened by a day each side for trips across midnight. */
export interface MonthWindow {
  readonly start: number;
  readonly end: number;
  /** YYYY-MM */
  readonly month: string;
}

/**
 * The rules of one row, in order: the standard duration rule (1 ≤ minutes ≤ 60, pandas-style: missing
 * times fail it), then the validity rules: missing fields, pickups outside the file's month window (the
 * TLC files hold a few 2009 dates), zone ids outside 1–265 and negative distances. Undefined = keep.
 */
export function rowVerdict(
  pickupMs: number,
  dropoffMs: number,
  pu: number,
  dropoff: number,
  distance: number,
  window: MonthWindow,
): RowVerdict | undefined {
  const minutes = (dropoffMs - pickupMs) / 60_000;
  if (!(minutes >= MIN_DURATION_MIN && minutes <= MAX_DURATION_MIN)) return 'duration_outside_1_60_min';
  if (Number.isNaN(pu) || Number.isNaN(dropoff) || Number.isNaN(distance)) return 'missing_field';
  if (pickupMs < window.start || pickupMs >= window.end) return 'impossible_pickup_date';
  if (!isZoneId(pu) || !isZoneId(dropoff)) return 'zone_out_of_range';
  if (distance < 0) return 'negative_distance';
  return undefined;
}

export type DropCounts = Record<RowVerdict, number>;

/** Rows that passed every rule, in file order, with what was dropped and why. */
export interface KeptRows {
  /** Rows looked at (kept or not). */
  readonly rowsRead: number;
  readonly dropped: DropCounts;
  readonly rows: number;
  /** Row index in the source file. */
  readonly rowIndex: Float64Array;
  /** New York wall-clock time held as UTC epoch ms, as the file stores it. */
  readonly pickupMs: Float64Array;
  readonly puLocationId: Int32Array;
  readonly doLocationId: Int32Array;
  /** float32, as the model sees it. */
  readonly tripDistance: Float32Array;
  /** Minutes from pickup to dropoff: the target. */
  readonly duration: Float64Array;
}

export function noDrops(): DropCounts {
  return { duration_outside_1_60_min: 0, missing_field: 0, impossible_pickup_date: 0, zone_out_of_range: 0, negative_distance: 0 };
}

/** Applies {@link rowVerdict} to rows decoded from file row `firstRow` on (a whole file, or one row group). */
export function keepRows(raw: RawTrips, firstRow: number, window: MonthWindow): KeptRows {
  const dropped = noDrops();
  const keep = new Uint8Array(raw.rows);
  let rows = 0;
  for (let i = 0; i < raw.rows; i++) {
    const verdict = rowVerdict(raw.pickupMs[i], raw.dropoffMs[i], raw.puLocationId[i], raw.doLocationId[i], raw.tripDistance[i], window);
    if (verdict) dropped[verdict]++;
    else {
      keep[i] = 1;
      rows++;
    }
  }
  const out: KeptRows = {
    rowsRead: raw.rows,
    dropped,
    rows,
    rowIndex: new Float64Array(rows),
    pickupMs: new Float64Array(rows),
    puLocationId: new Int32Array(rows),
    doLocationId: new Int32Array(rows),
    tripDistance: new Float32Array(rows),
    duration: new Float64Array(rows),
  };
  for (let i = 0, j = 0; i < raw.rows; i++) {
    if (!keep[i]) continue;
    out.rowIndex[j] = firstRow + i;
    out.pickupMs[j] = raw.pickupMs[i];
    out.puLocationId[j] = raw.puLocationId[i];
    out.doLocationId[j] = raw.doLocationId[i];
    out.tripDistance[j] = raw.tripDistance[i];
    out.duration[j] = (raw.dropoffMs[i] - raw.pickupMs[i]) / 60_000;
    j++;
  }
  return out;
}

/** The training table of a whole file; the file's month is that of its median pickup. */
export function filterTrips(raw: RawTrips): { table: TripTable; report: FilterReport } {
  const months = new PickupMonths();
  months.addAll(raw.pickupMs);
  const window = months.window();
  const kept = keepRows(raw, 0, window);
  const table = allocateTable(kept.rows);
  for (let j = 0; j < kept.rows; j++) {
    const { hour, dow } = wallClockHourAndDow(new Date(kept.pickupMs[j]));
    table.puLocationId[j] = kept.puLocationId[j];
    table.doLocationId[j] = kept.doLocationId[j];
    table.tripDistance[j] = kept.tripDistance[j];
    table.pickupHour[j] = hour;
    table.pickupDow[j] = dow;
    table.pickupMs[j] = kept.pickupMs[j];
    table.duration[j] = kept.duration[j];
  }
  const rowsAfterDurationFilter = raw.rows - kept.dropped.duration_outside_1_60_min;
  return {
    table,
    report: { rowsRead: raw.rows, rowsAfterDurationFilter, dropped: kept.dropped, rowsKept: kept.rows, month: window.month },
  };
}

function isZoneId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_ZONE_ID;
}

/**
 * Counts pickups per calendar month, so the month of the median pickup is known without holding the
 * pickups: a file read row group by row group gives its month exactly as a whole-file read does.
 */
export class PickupMonths {
  readonly #counts = new Map<number, number>();
  #total = 0;

  #lastDay = Number.NaN;
  #lastKey = 0;

  add(pickupMs: number): void {
    if (!Number.isFinite(pickupMs)) return;
    // why the day cache: files are mostly in time order, so one Date per day instead of one per row.
    const day = Math.floor(pickupMs / DAY_MS);
    if (day !== this.#lastDay) {
      const d = new Date(pickupMs);
      this.#lastDay = day;
      this.#lastKey = d.getUTCFullYear() * 12 + d.getUTCMonth();
    }
    this.#counts.set(this.#lastKey, (this.#counts.get(this.#lastKey) ?? 0) + 1);
    this.#total++;
  }

  addAll(pickupMs: ArrayLike<number>): void {
    for (let i = 0; i < pickupMs.length; i++) this.add(pickupMs[i]);
  }

  /** The window around the month of the median pickup (the element at index ⌊n/2⌋ in order; 1970-01 when none). */
  window(): MonthWindow {
    let key = 1970 * 12;
    const median = this.#total >> 1;
    let seen = 0;
    for (const k of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(k)!;
      if (seen > median) {
        key = k;
        break;
      }
    }
    const y = Math.floor(key / 12);
    const m = key % 12;
    return { start: Date.UTC(y, m, 1) - DAY_MS, end: Date.UTC(y, m + 1, 1) + DAY_MS, month: `${y}-${String(m + 1).padStart(2, '0')}` };
  }
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
