import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { TrainingError } from './errors.js';

/**
 * The raw trip columns training needs, decoded from a TLC parquet file. Missing values are NaN.
 * Timestamps are the naive New York wall-clock times of the file, held as if they were UTC epoch ms.
 */
export interface RawTrips {
  readonly rows: number;
  readonly pickupMs: Float64Array;
  readonly dropoffMs: Float64Array;
  readonly puLocationId: Float64Array;
  readonly doLocationId: Float64Array;
  readonly tripDistance: Float64Array;
}

/** Green files prefix their timestamps with lpep_, yellow files with tpep_. */
const LAYOUTS = [
  { name: 'green', pickup: 'lpep_pickup_datetime', dropoff: 'lpep_dropoff_datetime' },
  { name: 'yellow', pickup: 'tpep_pickup_datetime', dropoff: 'tpep_dropoff_datetime' },
] as const;
const COMMON_COLUMNS = ['PULocationID', 'DOLocationID', 'trip_distance'] as const;

/** Decodes a TLC trip file (any compression hyparquet-compressors knows, GZIP included). */
export async function readTripParquet(bytes: Uint8Array, label: string): Promise<RawTrips> {
  const file = toArrayBuffer(bytes);
  const magic = (offset: number) => new TextDecoder().decode(bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || magic(0) !== 'PAR1' || magic(bytes.byteLength - 4) !== 'PAR1') {
    throw new TrainingError(`${label} is not a parquet file`);
  }
  let columnNames: string[];
  try {
    columnNames = parquetSchema(parquetMetadata(file)).children.map((c) => c.element.name);
  } catch (error) {
    throw new TrainingError(`${label} is not a readable parquet file: ${(error as Error).message}`);
  }
  const layout = LAYOUTS.find((l) => columnNames.includes(l.pickup) && columnNames.includes(l.dropoff));
  const missing = [
    ...(layout ? [] : ['lpep_/tpep_pickup_datetime', 'lpep_/tpep_dropoff_datetime']),
    ...COMMON_COLUMNS.filter((c) => !columnNames.includes(c)),
  ];
  if (!layout || missing.length > 0) {
    throw new TrainingError(`${label} lacks the trip columns ${missing.join(', ')} (green or yellow TLC layout expected)`);
  }

  const rows = Number(parquetMetadata(file).num_rows);
  const columns = {
    pickupMs: new Float64Array(rows),
    dropoffMs: new Float64Array(rows),
    puLocationId: new Float64Array(rows),
    doLocationId: new Float64Array(rows),
    tripDistance: new Float64Array(rows),
  };
  const target: Record<string, Float64Array> = {
    [layout.pickup]: columns.pickupMs,
    [layout.dropoff]: columns.dropoffMs,
    PULocationID: columns.puLocationId,
    DOLocationID: columns.doLocationId,
    trip_distance: columns.tripDistance,
  };
  try {
    await parquetRead({
      file,
      compressors,
      columns: Object.keys(target),
      onChunk({ columnName, columnData, rowStart }) {
        const out = target[columnName];
        for (let i = 0; i < columnData.length; i++) out[rowStart + i] = toNumber(columnData[i]);
      },
    });
  } catch (error) {
    throw new TrainingError(`${label} could not be decoded: ${(error as Error).message}`);
  }
  return { rows, ...columns };
}

/** Dates become epoch ms, bigint ids and numbers become numbers, null and junk become NaN. */
function toNumber(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  // why: some older TLC files store timestamps as naive strings; read them as wall-clock UTC like the rest.
  if (typeof value === 'string') return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
  return Number.NaN;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
