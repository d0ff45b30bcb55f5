/**
 * Offline scoring for the promotion gate (docs/experiments.md, "Offline: the promotion gate"): TLC trips read and
 * filtered exactly as training reads them, predicted by the loaded ONNX models through the serving
 * featurization (tripsToColumns, the same code the predictor uses), compared per segment, with a
 * seeded paired bootstrap for the RMSE difference.
 */
import { TrainingError } from '../training/errors.js';
import { errorMetrics } from '../training/error-metrics.js';
import { createRandom } from '../training/random.js';
import { filterTrips, type TripTable } from '../data/trip-filter.js';
import { readTripParquet } from '../data/trip-parquet.js';
import { pairKey } from '../training/featurizer.js';
import { loadSourceFile } from '../training/trip-source.js';
import { tripsToColumns, type Trip } from '../features/trip-inputs.js';
import type { LoadedModel } from '../model/onnx-model.js';

export interface EvaluationFile {
  readonly source: string;
  readonly name: string;
  readonly sha256: string;
  /** Rows [start, end) of the concatenated evaluation set. */
  readonly start: number;
  readonly end: number;
}

export interface EvaluationSet {
  readonly files: readonly EvaluationFile[];
  readonly trips: readonly Trip[];
  /** Actual durations, minutes. */
  readonly actual: Float64Array;
}

/** Reads each file with the training reader and filter, and concatenates the trips. */
export async function readEvaluationSet(sources: readonly string[]): Promise<EvaluationSet> {
  const files: EvaluationFile[] = [];
  const trips: Trip[] = [];
  const actual: number[] = [];
  for (const source of sources) {
    const file = await loadSourceFile(source);
    const { table } = filterTrips(await readTripParquet(file.bytes, source));
    if (table.rows === 0) throw new TrainingError(`${source}: no trips left after filtering`);
    files.push({ source, name: file.name, sha256: file.sha256, start: trips.length, end: trips.length + table.rows });
    appendTrips(table, trips, actual);
  }
  return { files, trips, actual: Float64Array.from(actual) };
}

function appendTrips(table: TripTable, trips: Trip[], actual: number[]): void {
  for (let i = 0; i < table.rows; i++) {
    trips.push({
      PULocationID: table.puLocationId[i],
      DOLocationID: table.doLocationId[i],
      trip_distance: table.tripDistance[i],
      pickup: { hour: table.pickupHour[i], dow: table.pickupDow[i] },
    });
    actual.push(table.duration[i]);
  }
}

const CHUNK = 16_384;

/** The model's predictions for every trip, through the serving featurization. */
export async function predictAll(model: LoadedModel, trips: readonly Trip[]): Promise<Float32Array> {
  const out = new Float32Array(trips.length);
  for (let start = 0; start < trips.length; start += CHUNK) {
    const chunk = trips.slice(start, start + CHUNK);
    // why nowMs 0: every evaluation trip has its pickup time, so "now" is never used.
    const { duration } = await model.run(tripsToColumns(chunk, 0), chunk.length);
    out.set(duration.subarray(0, chunk.length), start);
  }
  return out;
}

export interface ErrorSummary {
  readonly n: number;
  readonly rmse: number;
  readonly mae: number;
  /** mean(actual − predicted): positive = predicts too short (the sign of GET /monitoring and /experiment). */
  readonly meanError: number;
}

/** Error of `predicted` over the rows `include` marks (all rows without it): training's RMSE and MAE, plus the bias. */
export function summarize(predicted: ArrayLike<number>, actual: ArrayLike<number>, include?: Uint8Array): ErrorSummary {
  const { rows, rmse, mae } = errorMetrics(predicted, actual, include);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) if (!include || include[i]) sum += actual[i] - predicted[i];
  return { n: rows, rmse, mae, meanError: rows > 0 ? sum / rows : Number.NaN };
}

/** Trip-distance cut points, miles: near February 2021's tertiles (1.65, 4.23), rounded. */
export const DISTANCE_CUTS = { short: 1.5, long: 4 } as const;

export interface Segment {
  readonly name: string;
  readonly include: Uint8Array;
}

/**
 * all; pickup–drop-off pairs seen and unseen in training (when the training pairs are known); short,
 * medium and long trips by distance.
 */
export function segmentsOf(set: EvaluationSet, trainingPairs: ReadonlySet<number> | undefined): Segment[] {
  const n = set.trips.length;
  const mask = (test: (t: Trip) => boolean) => Uint8Array.from(set.trips, (t) => (test(t) ? 1 : 0));
  const segments: Segment[] = [{ name: 'all', include: new Uint8Array(n).fill(1) }];
  if (trainingPairs !== undefined) {
    segments.push({ name: 'pairs seen in training', include: mask((t) => trainingPairs.has(pairKey(t.PULocationID, t.DOLocationID))) });
    segments.push({ name: 'pairs unseen in training', include: mask((t) => !trainingPairs.has(pairKey(t.PULocationID, t.DOLocationID))) });
  }
  const { short, long } = DISTANCE_CUTS;
  segments.push({ name: `short (< ${short} mi)`, include: mask((t) => t.trip_distance < short) });
  segments.push({ name: `medium (${short}–${long} mi)`, include: mask((t) => t.trip_distance >= short && t.trip_distance < long) });
  segments.push({ name: `long (≥ ${long} mi)`, include: mask((t) => t.trip_distance >= long) });
  return segments;
}

export interface BootstrapResult {
  /** RMSE(challenger) − RMSE(champion) on all trips, minutes. */
  readonly difference: number;
  /** 2.5th and 97.5th percentiles of the resampled differences. */
  readonly ci95: readonly [number, number];
  readonly replicates: number;
  readonly seed: number;
}

/**
 * Paired bootstrap: resample trips with replacement (the same draw for both models), recompute both
 * RMSEs, take the percentile interval of their difference. Seeded (mulberry32), so reproducible.
 */
export function pairedBootstrap(
  actual: Float64Array,
  champion: ArrayLike<number>,
  challenger: ArrayLike<number>,
  replicates: number,
  seed: number,
): BootstrapResult {
  const n = actual.length;
  const sqChampion = new Float64Array(n);
  const sqChallenger = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sqChampion[i] = (champion[i] - actual[i]) ** 2;
    sqChallenger[i] = (challenger[i] - actual[i]) ** 2;
  }
  const random = createRandom(seed);
  const diffs = new Float64Array(replicates);
  for (let b = 0; b < replicates; b++) {
    let a = 0;
    let c = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(random() * n);
      a += sqChampion[i];
      c += sqChallenger[i];
    }
    diffs[b] = Math.sqrt(c / n) - Math.sqrt(a / n);
  }
  diffs.sort();
  const at = (q: number) => diffs[Math.min(replicates - 1, Math.max(0, Math.round(q * (replicates - 1))))];
  const difference = summarize(challenger, actual).rmse - summarize(champion, actual).rmse;
  return { difference, ci95: [at(0.025), at(0.975)], replicates, seed };
}
