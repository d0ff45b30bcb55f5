/**
 * Scores one TLC file: open → find its month → per row group: read and filter (io side) → trips →
 * predictor → error and drift sums → append to predictions.parquet (io side) → summary.json and
 * report.html beside it. The next row group is read while this one is predicted, and at most two
 * scored row groups wait to be written, so memory follows the row group size, not the file's.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Progress } from '../cli/progress.js';
import { DataError } from '../data/data-error.js';
import type { HourAndDow } from '../features/pickup-time.js';
import type { Trip } from '../features/trip-inputs.js';
import type { ModelInfo } from '../model/onnx-model.js';
import type { Predictor } from '../model/predictor.js';
import { parseDriftReference } from '../monitoring/drift.js';
import { noDrops, type KeptRows } from '../data/trip-filter.js';
import type { InputFile } from './input-file.js';
import { MonthStats } from './month-stats.js';
import type { ScoredRows } from './predictions-file.js';
import { renderReport } from './report-html.js';
import type { ScoringIo } from './scoring-io.js';
import { buildSummary, type ScoreSummary } from './summary.js';

/** Trips per predictor call: large enough that one model run costs far more than the call around it. */
export const PREDICT_CHUNK_ROWS = 16_384;

export interface ScoreFileDeps {
  readonly predictor: Predictor;
  readonly model: ModelInfo;
  readonly modelUri: string;
  readonly io: ScoringIo;
  readonly progress: Progress;
  readonly outputRoot: string;
  readonly threads: number;
}

export interface ScoredFile {
  readonly summary: ScoreSummary;
  /** Directory holding predictions.parquet, summary.json and report.html. */
  readonly dir: string;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** One shared pickup object per (hour, weekday): trips hold a reference, not a new object each. */
const PICKUPS: readonly HourAndDow[] = Array.from({ length: 168 }, (_, i) => Object.freeze({ hour: i % 24, dow: Math.floor(i / 24) }));

/** The trips of rows [from, to) as the predictor takes them; the ride id is the row index in the file. */
export function tripsOf(rows: KeptRows, from: number, to: number): Trip[] {
  const trips = new Array<Trip>(to - from);
  for (let i = from; i < to; i++) {
    const ms = rows.pickupMs[i];
    // why arithmetic: a New York wall-clock time held as UTC ms (pickup-time.ts, wallClockHourAndDow);
    // 1970-01-01 was a Thursday, weekday 3 with Monday = 0.
    const pickup = PICKUPS[(Math.floor(ms / HOUR_MS) % 24) + 24 * ((Math.floor(ms / DAY_MS) + 3) % 7)];
    trips[i - from] = {
      PULocationID: rows.puLocationId[i],
      DOLocationID: rows.doLocationId[i],
      trip_distance: rows.tripDistance[i],
      pickup,
      ride_id: rows.rowIndex[i],
    };
  }
  return trips;
}

/** Predicts every kept row of a row group through the predictor, in chunks. */
export async function predictRows(predictor: Predictor, model: ModelInfo, rows: KeptRows): Promise<ScoredRows> {
  const n = rows.rows;
  const predicted = new Float32Array(n);
  const p10 = model.intervals ? new Float32Array(n) : undefined;
  const p90 = model.intervals ? new Float32Array(n) : undefined;
  for (let from = 0; from < n; from += PREDICT_CHUNK_ROWS) {
    const to = Math.min(n, from + PREDICT_CHUNK_ROWS);
    const out = await predictor.predict(tripsOf(rows, from, to), 0);
    // why: the batch loads one version and never polls, so a different one here would be a bug.
    if (out.modelVersion !== model.modelVersion)
      throw new Error(`model changed during scoring: ${model.modelVersion} → ${out.modelVersion}`);
    predicted.set(out.duration, from);
    if (p10 && p90 && out.p10 && out.p90) {
      p10.set(out.p10, from);
      p90.set(out.p90, from);
    }
  }
  return { rows, predicted, p10, p90 };
}

/** Writes a file under a temporary name, then renames it: readers see the old file or the whole new one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}

export async function scoreFile(input: InputFile, deps: ScoreFileDeps): Promise<ScoredFile> {
  const { predictor, model, io, progress } = deps;
  const started = performance.now();
  const info = await progress.stage(`open ${input.name}`, () => io.open(input.path, input.source));
  const [year, month] = info.month.split('-');
  const dir = join(deps.outputRoot, `taxi_type=${info.taxiType}`, `year=${year}`, `month=${month}`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new DataError(`cannot write the output directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const reference = parseDriftReference(model.training);
  const stats = new MonthStats(reference, model.intervals);
  const dropped = noDrops();
  let rowsRead = 0;
  let rowsKept = 0;

  await io.startOutput({
    path: join(dir, 'predictions.parquet'),
    pickupColumn: info.pickupColumn,
    ridePrefix: `${year}/${month}`,
    modelVersion: model.modelVersion,
    intervals: model.intervals,
  });
  let written = 0;
  try {
    const scoreStarted = performance.now();
    await progress.stage(`score ${input.name}`, async (tick) => {
      const handled = <T>(p: Promise<T>) => (p.catch(() => undefined), p);
      let nextRead = info.rowGroups > 0 ? handled(io.read(0)) : undefined;
      const writes: Promise<void>[] = [];
      for (let g = 0; g < info.rowGroups; g++) {
        const rows = await nextRead!;
        nextRead = g + 1 < info.rowGroups ? handled(io.read(g + 1)) : undefined;
        const scored = await predictRows(predictor, model, rows);
        stats.add(rows, scored.predicted, scored.p10, scored.p90);
        rowsRead += rows.rowsRead;
        rowsKept += rows.rows;
        for (const [reason, count] of Object.entries(rows.dropped)) dropped[reason as keyof typeof dropped] += count;
        if (writes.length >= 2) await writes.shift();
        writes.push(handled(io.write(scored)));
        const seconds = (performance.now() - scoreStarted) / 1000;
        const rate = rowsRead / Math.max(seconds, 1e-3);
        tick(rowsRead, info.rows, `${Math.round(rate).toLocaleString('en-US')} rows/s, ${Math.ceil((info.rows - rowsRead) / rate)} s left`);
      }
      await Promise.all(writes);
    });
    written = await progress.stage(`finish ${input.name}`, () => io.finish());
  } catch (error) {
    await io.abort().catch(() => undefined);
    throw error;
  }

  const summary = buildSummary({
    input,
    info,
    dir,
    outputRoot: deps.outputRoot,
    model,
    modelUri: deps.modelUri,
    threads: deps.threads,
    rows: { read: rowsRead, kept: rowsKept, written, dropped },
    stats,
    timings: progress.timings,
    seconds: (performance.now() - started) / 1000,
  });
  await progress.stage('write summary.json and report.html', async () => {
    await writeAtomically(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    await writeAtomically(join(dir, 'report.html'), renderReport(summary, stats.histograms()));
  });
  return { summary, dir };
}
