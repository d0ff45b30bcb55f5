import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { createRandom } from '../../src/training/random.js';
import { allocateTable, type TripTable } from '../../src/data/trip-filter.js';
import type { RawTrips } from '../../src/data/trip-parquet.js';

export interface FixtureTrip {
  pickup: Date | null;
  dropoff: Date | null;
  PULocationID: number | null;
  DOLocationID: number | null;
  trip_distance: number | null;
}

/** A trip of `minutes` picked up at 2021-01-05 10:00 wall clock, between zones 10 and 20. */
export function aTrip(overrides: Partial<FixtureTrip> & { minutes?: number } = {}): FixtureTrip {
  const { minutes = 12, ...rest } = overrides;
  const pickup = rest.pickup ?? new Date(Date.UTC(2021, 0, 5, 10, 0));
  return {
    pickup,
    dropoff: new Date(pickup.getTime() + minutes * 60_000),
    PULocationID: 10,
    DOLocationID: 20,
    trip_distance: 2.5,
    ...rest,
  };
}

export function rawTrips(trips: FixtureTrip[]): RawTrips {
  const col = (f: (t: FixtureTrip) => number | Date | null) =>
    Float64Array.from(trips, (t) => {
      const v = f(t);
      return v === null ? Number.NaN : typeof v === 'number' ? v : v.getTime();
    });
  return {
    rows: trips.length,
    pickupMs: col((t) => t.pickup),
    dropoffMs: col((t) => t.dropoff),
    puLocationId: col((t) => t.PULocationID),
    doLocationId: col((t) => t.DOLocationID),
    tripDistance: col((t) => t.trip_distance),
  };
}

/** Writes trips as a GZIP-compressed TLC parquet file, green (lpep_) or yellow (tpep_) layout. */
export function writeTripParquet(path: string, trips: FixtureTrip[], layout: 'green' | 'yellow' | 'no-zones' = 'green'): void {
  const prefix = layout === 'yellow' ? 'tpep' : 'lpep';
  const columnData = [
    { name: 'VendorID', data: trips.map(() => 2n), type: 'INT64' as const },
    { name: `${prefix}_pickup_datetime`, data: trips.map((t) => t.pickup), type: 'TIMESTAMP' as const },
    { name: `${prefix}_dropoff_datetime`, data: trips.map((t) => t.dropoff), type: 'TIMESTAMP' as const },
    ...(layout === 'no-zones'
      ? []
      : [
          {
            name: 'PULocationID',
            data: trips.map((t) => (t.PULocationID === null ? null : BigInt(t.PULocationID))),
            type: 'INT64' as const,
          },
          {
            name: 'DOLocationID',
            data: trips.map((t) => (t.DOLocationID === null ? null : BigInt(t.DOLocationID))),
            type: 'INT64' as const,
          },
        ]),
    { name: 'trip_distance', data: trips.map((t) => t.trip_distance), type: 'DOUBLE' as const },
  ];
  const buffer = parquetWriteBuffer({
    columnData,
    codec: 'GZIP',
    compressors: { GZIP: (bytes: Uint8Array) => new Uint8Array(gzipSync(bytes)) },
    rowGroupSize: 1000,
  });
  writeFileSync(path, new Uint8Array(buffer));
}

/**
 * Trips with structure a model can learn: 30 zones on a line, distance ~ zone gap, duration from
 * distance, a rush-hour slowdown and noise. Seeded, so every test run sees the same trips.
 */
export function syntheticTrips(count: number, seed: number, month = 0): FixtureTrip[] {
  const random = createRandom(seed);
  const trips: FixtureTrip[] = [];
  for (let i = 0; i < count; i++) {
    const pu = 1 + Math.floor(random() * 30);
    const dropoff = 1 + Math.floor(random() * 30);
    const distance = Math.round((0.3 + Math.abs(pu - dropoff) * 0.4 + random()) * 100) / 100;
    const day = 1 + Math.floor(random() * 28);
    const hour = Math.floor(random() * 24);
    const pickup = new Date(Date.UTC(2021, month, day, hour, Math.floor(random() * 60)));
    const rush = hour >= 16 && hour <= 19 ? 1.5 : 1;
    const minutes = Math.min(59, Math.max(1.5, (2 + distance * 3 + (pu % 5)) * rush + (random() - 0.5) * 4));
    trips.push({
      pickup,
      dropoff: new Date(pickup.getTime() + Math.round(minutes * 60) * 1000),
      PULocationID: pu,
      DOLocationID: dropoff,
      trip_distance: distance,
    });
  }
  return trips;
}

/** The same trips, already filtered, as the table the model code takes. */
export function tripTable(trips: FixtureTrip[]): TripTable {
  const table = allocateTable(trips.length);
  trips.forEach((t, i) => {
    table.puLocationId[i] = t.PULocationID!;
    table.doLocationId[i] = t.DOLocationID!;
    table.tripDistance[i] = t.trip_distance!;
    table.pickupHour[i] = t.pickup!.getUTCHours();
    table.pickupDow[i] = (t.pickup!.getUTCDay() + 6) % 7;
    table.pickupMs[i] = t.pickup!.getTime();
    table.duration[i] = (t.dropoff!.getTime() - t.pickup!.getTime()) / 60_000;
  });
  return table;
}
