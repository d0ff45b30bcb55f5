/**
 * TLC trip files (green lpep_ or yellow tpep_ parquet): the layout check and the decoding of the trip
 * columns, whole (training) or one row range at a time (batch scoring, so memory follows the row group,
 * not the file).
 */
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError } from './data-error.js';

/**
 * The raw trip columns, decoded from a TLC parquet file. Missing values are NaN.
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

export type TaxiType = 'green' | 'yellow';

/** Green files prefix their timestamps with lpep_, yellow files with tpep_. */
export interface TripLayout {
  readonly name: TaxiType;
  readonly pickup: string;
  readonly dropoff: string;
}

const LAYOUTS: readonly TripLayout[] = [
  { name: 'green', pickup: 'lpep_pickup_datetime', dropoff: 'lpep_dropoff_datetime' },
  { name: 'yellow', pickup: 'tpep_pickup_datetime', dropoff: 'tpep_dropoff_datetime' },
];
const COMMON_COLUMNS = ['PULocationID', 'DOLocationID', 'trip_distance'] as const;

/** A TLC parquet file whose metadata and columns were checked; nothing decoded yet. */
export interface TripParquet {
  readonly label: string;
  readonly layout: TripLayout;
  readonly rows: number;
  /** Row ranges of the file's row groups, in order. */
  readonly rowGroups: readonly { readonly start: number; readonly end: number }[];
  readonly file: AsyncBuffer;
  readonly metadata: FileMetaData;
}

/** Checks the magic bytes, the metadata and the trip columns; `label` names the file in errors. */
export async function openTripParquet(file: AsyncBuffer, label: string): Promise<TripParquet> {
  const size = file.byteLength;
  const magic = async (offset: number) => new TextDecoder().decode(await file.slice(offset, offset + 4));
  if (size < 12 || (await magic(0)) !== 'PAR1' || (await magic(size - 4)) !== 'PAR1') {
    throw new DataError(`${label} is not a parquet file`);
  }
  let metadata: FileMetaData;
  let columnNames: string[];
  try {
    metadata = await parquetMetadataAsync(file);
    columnNames = parquetSchema(metadata).children.map((c) => c.element.name);
  } catch (error) {
    throw new DataError(`${label} is not a readable parquet file: ${(error as Error).message}`);
  }
  const layout = LAYOUTS.find((l) => columnNames.includes(l.pickup) && columnNames.includes(l.dropoff));
  const missing = [
    ...(layout ? [] : ['lpep_/tpep_pickup_datetime', 'lpep_/tpep_dropoff_datetime']),
    ...COMMON_COLUMNS.filter((c) => !columnNames.includes(c)),
  ];
  if (!layout || missing.length > 0) {
    throw new DataError(`${label} lacks the trip columns ${missing.join(', ')} (green or yellow TLC layout expected)`);
  }
  const rowGroups: { start: number; end: number }[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    rowGroups.push({ start, end });
    start = end;
  }
  return { label, layout, rows: Number(metadata.num_rows), rowGroups, file, metadata };
}

type TripColumn = Exclude<keyof RawTrips, 'rows'>;

/**
 * Decodes rows [start, end) of the trip columns (all five, or only `only`; the others stay empty).
 * Call it with a row group's range: parquet decodes whole column chunks.
 */
export async function readTripRows(parquet: TripParquet, start: number, end: number, only?: readonly TripColumn[]): Promise<RawTrips> {
  const rows = end - start;
  const wanted = new Set<TripColumn>(only ?? ['pickupMs', 'dropoffMs', 'puLocationId', 'doLocationId', 'tripDistance']);
  const column = (name: TripColumn) => new Float64Array(wanted.has(name) ? rows : 0);
  const out = {
    rows,
    pickupMs: column('pickupMs'),
    dropoffMs: column('dropoffMs'),
    puLocationId: column('puLocationId'),
    doLocationId: column('doLocationId'),
    tripDistance: column('tripDistance'),
  };
  const { layout } = parquet;
  const byColumn: Record<string, TripColumn> = {
    [layout.pickup]: 'pickupMs',
    [layout.dropoff]: 'dropoffMs',
    PULocationID: 'puLocationId',
    DOLocationID: 'doLocationId',
    trip_distance: 'tripDistance',
  };
  const columns = Object.keys(byColumn).filter((c) => wanted.has(byColumn[c]));
  try {
    await parquetRead({
      file: parquet.file,
      metadata: parquet.metadata,
      compressors,
      columns,
      rowStart: start,
      rowEnd: end,
      // why: numbers instead of one Date per timestamp (millions per file); same truncation to ms.
      parsers: {
        timestampFromMilliseconds: Number,
        timestampFromMicroseconds: (us: bigint) => Number(us / 1000n),
        timestampFromNanoseconds: (ns: bigint) => Number(ns / 1_000_000n),
      } as never,
      onChunk({ columnName, columnData, rowStart }) {
        const target = out[byColumn[columnName]];
        // why: a chunk may hold rows outside the requested range (hyparquet decodes whole pages).
        const from = Math.max(rowStart, start);
        const to = Math.min(rowStart + columnData.length, end);
        for (let r = from; r < to; r++) target[r - start] = toNumber(columnData[r - rowStart]);
      },
    });
  } catch (error) {
    throw new DataError(`${parquet.label} could not be decoded: ${(error as Error).message}`);
  }
  return out;
}

/** Decodes a whole TLC trip file held in memory (any compression hyparquet-compressors knows, GZIP included). */
export async function readTripParquet(bytes: Uint8Array, label: string): Promise<RawTrips> {
  const parquet = await openTripParquet(toArrayBuffer(bytes), label);
  return readTripRows(parquet, 0, parquet.rows);
}

/** Dates and numbers become numbers (epoch ms for times), bigint ids become numbers, null and junk become NaN. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  // why: some older TLC files store timestamps as naive strings; read them as wall-clock UTC like the rest.
  if (typeof value === 'string') return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
  return Number.NaN;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
