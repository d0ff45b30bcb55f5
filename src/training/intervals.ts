import type { FeatureSet } from '../features/model-contract.js';
import { TrainingError } from './errors.js';
import type { ModelParams } from './presets.js';
import { fitModel, predict, unseenPairMask } from './trained-model.js';
import { selectTrips, type TripTable } from '../data/trip-filter.js';
import type { ZoneGeometry } from './zone-geometry.js';

/**
 * Calibrated 80 % prediction intervals: split-conformal residual quantiles by segment.
 *
 * A segment is the trip's pickup–dropoff pair (seen in the training month or not: an unseen pair's error is
 * about 1.5× larger) crossed with a bin of the predicted duration (errors grow with the duration). Each segment
 * holds the 10th and 90th percentile of `actual − predicted` on trips no tree was fitted on (the
 * early-stopping slice of the training month), so `duration_p10 = duration + lower` and
 * `duration_p90 = duration + upper`. The graph holds the segments as one small decision tree (onnx-export.ts).
 */

/** Central coverage of the interval, and the quantiles of the residual that bound it. */
export const INTERVAL_COVERAGE = 0.8;
export const LOWER_QUANTILE = 0.1;
export const UPPER_QUANTILE = 0.9;

export interface IntervalSegment {
  /** Bin i holds predictions `<= edges[i]` (and above edges[i-1]); the last bin everything above. float32 values. */
  readonly edges: number[];
  /** Per bin: residual quantiles (minutes, float32; lower ≤ 0 ≤ upper) and calibration trips. */
  readonly lower: number[];
  readonly upper: number[];
  readonly rows: number[];
}

export interface IntervalModel {
  readonly method: 'split-conformal residual quantiles by predicted-duration bin and seen/unseen pair';
  readonly coverage: number;
  readonly calibration: { readonly data: string; readonly rows: number };
  readonly seen: IntervalSegment;
  readonly unseen: IntervalSegment;
}

export interface IntervalOptions {
  /** Fewest calibration trips per bin: ~700 keeps a 10 % quantile's coverage within about ±1.1 % (binomial). */
  readonly minRowsPerBin: number;
  readonly maxBins: number;
}

export const DEFAULT_INTERVAL_OPTIONS: IntervalOptions = { minRowsPerBin: 700, maxBins: 10 };

/** Fits the segment table from held-out predictions, targets and the unseen-pair flag (1 = unseen). */
export function fitIntervals(
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  unseen: ArrayLike<number>,
  data: string,
  options: IntervalOptions = DEFAULT_INTERVAL_OPTIONS,
): IntervalModel {
  const pick = (flag: number) => {
    const index: number[] = [];
    for (let i = 0; i < y.length; i++) if ((unseen[i] ? 1 : 0) === flag) index.push(i);
    return fitSegment(
      index.map((i) => Math.fround(pred[i])),
      index.map((i) => y[i] - Math.fround(pred[i])),
      options,
    );
  };
  return {
    method: 'split-conformal residual quantiles by predicted-duration bin and seen/unseen pair',
    coverage: INTERVAL_COVERAGE,
    calibration: { data, rows: y.length },
    seen: pick(0),
    unseen: pick(1),
  };
}

function fitSegment(pred: number[], residual: number[], options: IntervalOptions): IntervalSegment {
  if (pred.length === 0) return { edges: [], lower: [0], upper: [0], rows: [0] };
  const bins = Math.max(1, Math.min(options.maxBins, Math.floor(pred.length / options.minRowsPerBin)));
  const sorted = Float64Array.from(pred).sort();
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const edge = Math.fround(sorted[Math.floor((b * sorted.length) / bins) - 1]);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  const byBin: number[][] = Array.from({ length: edges.length + 1 }, () => []);
  pred.forEach((p, i) => byBin[binOf(edges, p)].push(residual[i]));
  return {
    edges,
    lower: byBin.map((r) => Math.fround(Math.min(0, conformalQuantile(r, LOWER_QUANTILE)))),
    upper: byBin.map((r) => Math.fround(Math.max(0, conformalQuantile(r, UPPER_QUANTILE)))),
    rows: byBin.map((r) => r.length),
  };
}

/** The bin a prediction falls in: the graph's tree sends `pred <= edge` left, as this does. */
export function binOf(edges: readonly number[], pred: number): number {
  let bin = 0;
  while (bin < edges.length && !(pred <= edges[bin])) bin++;
  return bin;
}

/**
 * The finite-sample conformal quantile: the ⌈q(n+1)⌉-th smallest residual for an upper bound and the
 * ⌊q(n+1)⌋-th for a lower one, so that a new exchangeable trip falls outside with probability ≤ 1 − q.
 */
export function conformalQuantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const rank = q >= 0.5 ? Math.ceil(q * (n + 1)) : Math.floor(q * (n + 1));
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

/** The bounds exactly as the graph computes them from its float32 duration (for parity and metrics). */
export function intervalBounds(
  model: IntervalModel,
  duration: ArrayLike<number>,
  unseen: ArrayLike<number>,
): { p10: Float32Array; p90: Float32Array } {
  const n = duration.length;
  const p10 = new Float32Array(n);
  const p90 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const segment = unseen[i] ? model.unseen : model.seen;
    const d = Math.fround(duration[i]);
    const bin = binOf(segment.edges, d);
    p10[i] = Math.min(Math.fround(d + segment.lower[bin]), d);
    p90[i] = Math.max(Math.fround(d + segment.upper[bin]), d);
  }
  return { p10, p90 };
}

export interface CoverageStats {
  readonly rows: number;
  /** Share of trips below p10 and above p90 (each should be ≈ 0.10). */
  readonly below_p10: number;
  readonly above_p90: number;
  readonly median_width_minutes: number;
}

export interface CoverageReport {
  readonly overall: CoverageStats;
  readonly seen_pairs: CoverageStats;
  readonly unseen_pairs: CoverageStats;
  /** Quintiles of the month's own predicted durations: [from, to] minutes and the stats inside. */
  readonly by_predicted_quintile: (CoverageStats & { readonly predicted_minutes: [number, number] })[];
}

/** How the intervals did on a month with known durations. */
export function intervalCoverage(
  duration: ArrayLike<number>,
  p10: ArrayLike<number>,
  p90: ArrayLike<number>,
  y: ArrayLike<number>,
  unseen: ArrayLike<number>,
): CoverageReport {
  const all = Array.from({ length: y.length }, (_, i) => i);
  const stats = (rows: number[]): CoverageStats => {
    let below = 0;
    let above = 0;
    const widths = new Float64Array(rows.length);
    rows.forEach((i, k) => {
      if (y[i] < p10[i]) below++;
      if (y[i] > p90[i]) above++;
      widths[k] = p90[i] - p10[i];
    });
    widths.sort();
    const n = rows.length;
    return {
      rows: n,
      below_p10: n ? below / n : Number.NaN,
      above_p90: n ? above / n : Number.NaN,
      median_width_minutes: n ? (n % 2 ? widths[n >> 1] : (widths[n / 2 - 1] + widths[n / 2]) / 2) : Number.NaN,
    };
  };
  const byDuration = [...all].sort((a, b) => duration[a] - duration[b] || a - b);
  const quintiles = [0, 1, 2, 3, 4].map((q) => {
    const rows = byDuration.slice(Math.floor((q * all.length) / 5), Math.floor(((q + 1) * all.length) / 5));
    const range: [number, number] = rows.length ? [duration[rows[0]], duration[rows[rows.length - 1]]] : [Number.NaN, Number.NaN];
    return { predicted_minutes: range, ...stats(rows) };
  });
  return {
    overall: stats(all),
    seen_pairs: stats(all.filter((i) => !unseen[i])),
    unseen_pairs: stats(all.filter((i) => unseen[i])),
    by_predicted_quintile: quintiles,
  };
}

/**
 * Which part of the training month calibrates: a model with the same preset and seed is fitted on the
 * pickups before `fitBeforeDay` and scored on those from `scoreFromDay` on. The served model meets trips
 * weeks after its training data, and trip times drift over weeks (January 2021's mean residual rose
 * by 0.6 min from its first to its last week), so the residuals that calibrate are taken at a gap of
 * one to four weeks too, not from rows shuffled out of the same days (those gave 17 % above p90 on February).
 */
export interface CalibrationSplit {
  readonly fitBeforeDay: number;
  readonly scoreFromDay: number;
}

export const DEFAULT_CALIBRATION_SPLIT: CalibrationSplit = { fitBeforeDay: 8, scoreFromDay: 15 };

/**
 * Fits the interval table on the training month alone (see CalibrationSplit): nothing of the months the
 * intervals are reported on is read. Throws when the month is too short to split.
 */
export function calibrateIntervals(
  train: TripTable,
  featureSet: FeatureSet,
  params: ModelParams,
  seed: number,
  geometry: ZoneGeometry,
  split: CalibrationSplit = DEFAULT_CALIBRATION_SPLIT,
): IntervalModel {
  const sorted = Float64Array.from(train.pickupMs).sort();
  const median = new Date(sorted[sorted.length >> 1]);
  const month = median.getUTCMonth();
  const dayOf = (i: number) => {
    const d = new Date(train.pickupMs[i]);
    return d.getUTCMonth() === month ? d.getUTCDate() : 0;
  };
  const early = selectTrips(train, (i) => dayOf(i) >= 1 && dayOf(i) < split.fitBeforeDay);
  const late = selectTrips(train, (i) => dayOf(i) >= split.scoreFromDay);
  if (early.rows < 50 || late.rows < 50) {
    throw new TrainingError(
      `cannot calibrate prediction intervals: ${early.rows} trips before day ${split.fitBeforeDay} and ${late.rows} from day ${split.scoreFromDay} of the training month (at least 50 each)`,
    );
  }
  const model = fitModel(early, featureSet, params, seed, undefined, geometry);
  const data = `training month: trips from day ${split.scoreFromDay} on, scored by a model fitted on days 1-${split.fitBeforeDay - 1}`;
  return fitIntervals(predict(model, late), late.duration, unseenPairMask(model, late), data);
}
