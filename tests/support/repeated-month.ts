/**
 * A large TLC-like trip file built from a real month repeated until it has `rows` rows: the size of a
 * busy yellow-taxi month (about 3 million trips) for speed and memory checks, without a download.
 * Yellow layout (tpep_ columns), OPTIONAL columns and SNAPPY pages like the TLC's files, a few columns the
 * scorer must skip, and row groups of `rowGroupRows` (pyarrow writes up to 1,048,576 rows per group).
 */
import { ParquetWriter, fileWriter, type ColumnSource } from 'hyparquet-writer';
import { readFileSync } from 'node:fs';
import { readTripParquet } from '../../src/data/trip-parquet.js';

export interface RepeatedMonthOptions {
  source: string;
  target: string;
  rows: number;
  rowGroupRows: number;
}

export function writeRepeatedMonth({ source, target, rows, rowGroupRows }: RepeatedMonthOptions): Promise<void> {
  return readTripParquet(readFileSync(source), source).then((month) => {
    const optional = (name: string, type: 'INT64' | 'DOUBLE', extra = {}) => ({
      name,
      type,
      repetition_type: 'OPTIONAL' as const,
      ...extra,
    });
    const timestamp = {
      converted_type: 'TIMESTAMP_MICROS' as const,
      logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: false, unit: 'MICROS' as const },
    };
    const schema = [
      { name: 'schema', num_children: 9 },
      optional('VendorID', 'INT64'),
      optional('tpep_pickup_datetime', 'INT64', timestamp),
      optional('tpep_dropoff_datetime', 'INT64', timestamp),
      optional('passenger_count', 'DOUBLE'),
      optional('trip_distance', 'DOUBLE'),
      optional('PULocationID', 'INT64'),
      optional('DOLocationID', 'INT64'),
      optional('fare_amount', 'DOUBLE'),
      optional('total_amount', 'DOUBLE'),
    ];
    const writer = new ParquetWriter({ writer: fileWriter(target), schema });
    for (let start = 0; start < rows; start += rowGroupRows) {
      const n = Math.min(rowGroupRows, rows - start);
      const at = (i: number) => (start + i) % month.rows;
      const int64 = (f: (i: number) => number) =>
        Array.from({ length: n }, (_, i) => (Number.isNaN(f(i)) ? null : BigInt(Math.trunc(f(i)))));
      const float = (f: (i: number) => number) => Array.from({ length: n }, (_, i) => (Number.isNaN(f(i)) ? null : f(i)));
      const columnData: ColumnSource[] = [
        { name: 'VendorID', data: int64(() => 2) },
        { name: 'tpep_pickup_datetime', data: int64((i) => month.pickupMs[at(i)] * 1000) },
        { name: 'tpep_dropoff_datetime', data: int64((i) => month.dropoffMs[at(i)] * 1000) },
        { name: 'passenger_count', data: float((i) => 1 + (at(i) % 3)) },
        { name: 'trip_distance', data: float((i) => month.tripDistance[at(i)]) },
        { name: 'PULocationID', data: int64((i) => month.puLocationId[at(i)]) },
        { name: 'DOLocationID', data: int64((i) => month.doLocationId[at(i)]) },
        { name: 'fare_amount', data: float((i) => 2.5 + month.tripDistance[at(i)] * 2.5) },
        { name: 'total_amount', data: float((i) => 3.8 + month.tripDistance[at(i)] * 2.9) },
      ];
      writer.write({ columnData, rowGroupSize: n });
    }
    writer.finish();
  });
}
