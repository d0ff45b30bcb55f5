/**
 * predictions.parquet, written one row group at a time to a temporary name and renamed when complete,
 * so a reader never sees a partial file. Columns in the course's order (docs/batch.md): ride_id, the
 * pickup time under the source's own column name, PULocationID, DOLocationID, actual_duration,
 * predicted_duration, diff (= actual − predicted), model_version, then the interval bounds when the
 * model has them.
 */
import { rename, rm } from 'node:fs/promises';
import { ParquetWriter, fileWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import type { KeptRows } from '../data/trip-filter.js';

export interface ScoredRows {
  readonly rows: KeptRows;
  readonly predicted: Float32Array;
  readonly p10?: Float32Array;
  readonly p90?: Float32Array;
}

export interface PredictionsFileOptions {
  /** The final path; rows go to `<path>.partial` until finish(). */
  path: string;
  /** The source's pickup column (lpep_pickup_datetime or tpep_pickup_datetime). */
  pickupColumn: string;
  /** "YYYY/MM": ride ids are "<YYYY>/<MM>_<row index in the source file>". */
  ridePrefix: string;
  modelVersion: string;
  intervals: boolean;
}

const required = (name: string, type: SchemaElement['type'], extra: Partial<SchemaElement> = {}): SchemaElement => ({
  name,
  type,
  repetition_type: 'REQUIRED',
  ...extra,
});

export function predictionsSchema(pickupColumn: string, intervals: boolean): SchemaElement[] {
  const columns: SchemaElement[] = [
    required('ride_id', 'BYTE_ARRAY', { converted_type: 'UTF8' }),
    // why not adjusted to UTC: TLC times are New York wall-clock times without a zone, as in the source.
    required(pickupColumn, 'INT64', {
      converted_type: 'TIMESTAMP_MICROS',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
    }),
    required('PULocationID', 'INT32'),
    required('DOLocationID', 'INT32'),
    required('actual_duration', 'DOUBLE'),
    required('predicted_duration', 'DOUBLE'),
    required('diff', 'DOUBLE'),
    required('model_version', 'BYTE_ARRAY', { converted_type: 'UTF8' }),
    ...(intervals ? [required('predicted_duration_p10', 'DOUBLE'), required('predicted_duration_p90', 'DOUBLE')] : []),
  ];
  return [{ name: 'root', num_children: columns.length }, ...columns];
}

export class PredictionsFile {
  readonly #options: PredictionsFileOptions;
  readonly #partial: string;
  readonly #writer: ParquetWriter;
  readonly #prefix: Uint8Array;
  readonly #version: Uint8Array;
  #rows = 0;

  constructor(options: PredictionsFileOptions) {
    this.#options = options;
    this.#partial = `${options.path}.partial`;
    this.#prefix = new TextEncoder().encode(`${options.ridePrefix}_`);
    this.#version = new TextEncoder().encode(options.modelVersion);
    this.#writer = new ParquetWriter({
      writer: fileWriter(this.#partial),
      schema: predictionsSchema(options.pickupColumn, options.intervals),
      kvMetadata: [{ key: 'model_version', value: options.modelVersion }],
      createdBy: 'taxi-ride-duration batch scoring',
    });
  }

  get rows(): number {
    return this.#rows;
  }

  /** Appends one row group. */
  write({ rows, predicted, p10, p90 }: ScoredRows): void {
    const n = rows.rows;
    if (n === 0) return;
    const pickupUs = new Array<bigint>(n);
    const actual = rows.duration;
    const predictedMinutes = new Float64Array(n);
    const diff = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      pickupUs[i] = BigInt(rows.pickupMs[i]) * 1000n;
      predictedMinutes[i] = predicted[i];
      diff[i] = actual[i] - predicted[i];
    }
    // why: minutes as doubles barely compress and their min/max say little, while snappy and statistics
    // were a fifth of the scoring thread's time (docs/batch.md, "How it runs"); ids and times keep both.
    const measure = { codec: 'UNCOMPRESSED' as const, statistics: false };
    const columnData: ColumnSource[] = [
      { name: 'ride_id', data: this.#rideIds(rows.rowIndex), statistics: false },
      { name: this.#options.pickupColumn, data: pickupUs },
      { name: 'PULocationID', data: rows.puLocationId },
      { name: 'DOLocationID', data: rows.doLocationId },
      { name: 'actual_duration', data: actual, ...measure },
      { name: 'predicted_duration', data: predictedMinutes, ...measure },
      { name: 'diff', data: diff, ...measure },
      { name: 'model_version', data: new Array<Uint8Array>(n).fill(this.#version) },
    ];
    if (this.#options.intervals && p10 && p90) {
      columnData.push(
        { name: 'predicted_duration_p10', data: Float64Array.from(p10), ...measure },
        { name: 'predicted_duration_p90', data: Float64Array.from(p90), ...measure },
      );
    }
    this.#writer.write({ columnData, rowGroupSize: n });
    this.#rows += n;
  }

  /** Writes the footer and renames the file into place. */
  async finish(): Promise<void> {
    this.#writer.finish();
    await rename(this.#partial, this.#options.path);
  }

  /** Removes the partial file (after a failure). */
  async abort(): Promise<void> {
    await rm(this.#partial, { force: true });
  }

  /**
   * "<YYYY>/<MM>_<row index>" as UTF-8 bytes, built in one buffer: the writer would otherwise encode
   * millions of strings one TextEncoder call at a time.
   */
  #rideIds(rowIndex: Float64Array): Uint8Array[] {
    const prefix = this.#prefix;
    const n = rowIndex.length;
    const bytes = new Uint8Array(n * (prefix.length + 16));
    const out = new Array<Uint8Array>(n);
    let at = 0;
    const digits = new Uint8Array(16);
    for (let i = 0; i < n; i++) {
      const start = at;
      bytes.set(prefix, at);
      at += prefix.length;
      let v = rowIndex[i];
      let d = 0;
      do {
        digits[d++] = 48 + (v % 10);
        v = Math.floor(v / 10);
      } while (v > 0);
      while (d > 0) bytes[at++] = digits[--d];
      out[i] = bytes.subarray(start, at);
    }
    return out;
  }
}
