/**
 * The file side of scoring one TLC file: open and check it, find its month, read and filter one row
 * group at a time, append scored row groups to predictions.parquet. It runs on a worker thread while
 * the main thread runs the model (io-worker.ts), or inline with --threads 1; the same code either way.
 */
import { asyncBufferFromFile } from 'hyparquet';
import { DataError } from '../data/data-error.js';
import { PickupMonths, keepRows, type KeptRows, type MonthWindow } from '../data/trip-filter.js';
import { openTripParquet, readTripRows, type TaxiType, type TripParquet } from '../data/trip-parquet.js';
import { PredictionsFile, type PredictionsFileOptions, type ScoredRows } from './predictions-file.js';

export interface TripFileInfo {
  readonly taxiType: TaxiType;
  /** The source's pickup column name (lpep_ or tpep_). */
  readonly pickupColumn: string;
  readonly rows: number;
  readonly rowGroups: number;
  /** The month of the median pickup (YYYY-MM), as training decides it. */
  readonly month: string;
}

/** What both the inline and the worker-thread versions answer. */
export interface ScoringIo {
  open(path: string, label: string): Promise<TripFileInfo>;
  read(group: number): Promise<KeptRows>;
  startOutput(options: PredictionsFileOptions): Promise<void>;
  write(scored: ScoredRows): Promise<void>;
  /** Completes predictions.parquet (footer, rename); resolves with its row count. */
  finish(): Promise<number>;
  /** Drops the partial output, if any. */
  abort(): Promise<void>;
  close(): Promise<void>;
}

export function createInlineIo(): ScoringIo {
  let parquet: TripParquet | undefined;
  let window: MonthWindow | undefined;
  let output: PredictionsFile | undefined;
  const opened = () => {
    if (!parquet || !window) throw new Error('open() first');
    return { parquet, window };
  };
  return {
    async open(path, label) {
      let file;
      try {
        file = await asyncBufferFromFile(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new DataError(`cannot read ${label}: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`);
      }
      parquet = await openTripParquet(file, label);
      // why a first pass over the pickup column only: the month (the filter's window, the ride ids and the
      // output partition) is that of the median pickup, and rows are written before the last group is read.
      const months = new PickupMonths();
      for (const group of parquet.rowGroups) months.addAll((await readTripRows(parquet, group.start, group.end, ['pickupMs'])).pickupMs);
      window = months.window();
      const { layout, rows, rowGroups } = parquet;
      return { taxiType: layout.name, pickupColumn: layout.pickup, rows, rowGroups: rowGroups.length, month: window.month };
    },
    async read(group) {
      const { parquet: p, window: w } = opened();
      const range = p.rowGroups[group];
      return keepRows(await readTripRows(p, range.start, range.end), range.start, w);
    },
    async startOutput(options) {
      output = new PredictionsFile(options);
    },
    async write(scored) {
      if (!output) throw new Error('startOutput() first');
      output.write(scored);
    },
    async finish() {
      if (!output) throw new Error('startOutput() first');
      await output.finish();
      const rows = output.rows;
      output = undefined;
      return rows;
    },
    async abort() {
      await output?.abort();
      output = undefined;
    },
    async close() {
      parquet = undefined;
    },
  };
}
