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
 * holds the 10th and 90th percentile of the error (`actual − predicted`, or `actual / predicted` on the
 * multiplicative scale) of training-month trips scored by models not fitted on them (CalibrationScheme), so
 * `duration_p10 = duration + lower` (or `× lower`) and likewise p90. The graph holds the segments as one small
 * decision tree (onnx-export.ts).
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

/**
 * How a trip's error is measured: `additive` = actual − predicted (minutes), `multiplicative` = actual / predicted,
 * so the bounds are `duration + q` or `duration × q`.
 */
export type IntervalScale = 'additive' | 'multiplicative';

export interface IntervalModel {
  readonly method: 'split-conformal residual quantiles by predicted-duration bin and seen/unseen pair';
  readonly scale: IntervalScale;
  readonly coverage: number;
  readonly calibration: { readonly data: string; readonly rows: number };
  readonly seen: IntervalSegment;
  readonly unseen: IntervalSegment;
}

export interface IntervalOptions {
  /** Fewest calibration trips per bin: ~700 keeps a 10 % quantile's coverage within about ±1.1 % (binomial). */
  readonly minRowsPerBin: number;
  readonly maxBins: number;
  readonly scale: IntervalScale;
}

export const DEFAULT_INTERVAL_OPTIONS: IntervalOptions = { minRowsPerBin: 700, maxBins: 10, scale: 'additive' };

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
      index.map((i) => errorOf(options.scale, Math.fround(pred[i]), y[i])),
      options,
    );
  };
  return {
    method: 'split-conformal residual quantiles by predicted-duration bin and seen/unseen pair',
    scale: options.scale,
    coverage: INTERVAL_COVERAGE,
    calibration: { data, rows: y.length },
    seen: pick(0),
    unseen: pick(1),
  };
}

function fitSegment(pred: number[], residual: number[], options: IntervalOptions): IntervalSegment {
  const neutral = NEUTRAL[options.scale];
  if (pred.length === 0) return { edges: [], lower: [neutral], upper: [neutral], rows: [0] };
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
    lower: byBin.map((r) => Math.fround(Math.min(neutral, conformalQuantile(r, LOWER_QUANTILE, neutral)))),
    upper: byBin.map((r) => Math.fround(Math.max(neutral, conformalQuantile(r, UPPER_QUANTILE, neutral)))),
    rows: byBin.map((r) => r.length),
  };
}

/** The offset that leaves a prediction unchanged: + 0 or × 1. */
const NEUTRAL: Record<IntervalScale, number> = { additive: 0, multiplicative: 1 };

/** A trip's error on the interval's scale; a prediction ≤ 0 (never seen in practice) counts as exact on the multiplicative one. */
function errorOf(scale: IntervalScale, pred: number, y: number): number {
  if (scale === 'additive') return y - pred;
  return pred > 0 ? y / pred : 1;
}

/** One bound as the graph computes it in float32: `d + q` or `d × q`. */
export function applyOffset(scale: IntervalScale, d: number, q: number): number {
  return scale === 'additive' ? Math.fround(d + q) : Math.fround(d * q);
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
export function conformalQuantile(values: number[], q: number, empty = 0): number {
  if (values.length === 0) return empty;
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
    p10[i] = Math.min(applyOffset(model.scale, d, segment.lower[bin]), d);
    p90[i] = Math.max(applyOffset(model.scale, d, segment.upper[bin]), d);
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
 * Which parts of the training month calibrate. The served model meets trips weeks after its training data,
 * and trip times drift over weeks (January 2021's mean residual rose by 0.6 min from its first to its last
 * week), so calibration residuals come from models scoring days they were not fitted on, never from rows
 * shuffled out of the same days (those gave 17 % above p90 on February).
 *
 * - `gap`: one model fitted on days before `fitBeforeDay`, scoring days from `scoreFromDay` on (version 4).
 * - `forward-weeks`: the month in weeks (days 1–7, 8–14, …; a short last week joins the one before); for each
 *   week w after the first, a model fitted on the weeks before w scores week w. Every residual is a forecast
 *   one week ahead, and later folds see nearly as much data as the served model.
 * - `last-week`: the last week scored by a model fitted on the weeks before it (the last fold of `forward-weeks`).
 * - `leave-week-out`: each week scored by a model fitted on all the other weeks.
 */
export type CalibrationScheme =
  | { readonly kind: 'gap'; readonly fitBeforeDay: number; readonly scoreFromDay: number }
  | { readonly kind: 'forward-weeks' }
  | { readonly kind: 'last-week' }
  | { readonly kind: 'leave-week-out' };

export interface CalibrationOptions extends IntervalOptions {
  readonly scheme: CalibrationScheme;
}

/** Each scheme as the training CLI names it (`--calibration`), with the gap of version 4. */
export const CALIBRATION_SCHEMES: Readonly<Record<CalibrationScheme['kind'], CalibrationScheme>> = {
  gap: { kind: 'gap', fitBeforeDay: 8, scoreFromDay: 15 },
  'forward-weeks': { kind: 'forward-weeks' },
  'last-week': { kind: 'last-week' },
  'leave-week-out': { kind: 'leave-week-out' },
};

export const DEFAULT_CALIBRATION: CalibrationOptions = { ...DEFAULT_INTERVAL_OPTIONS, scheme: CALIBRATION_SCHEMES.gap };

/** Held-out predictions of the training month, pooled over the scheme's folds, ready for fitIntervals. */
export interface CalibrationResiduals {
  readonly pred: Float64Array;
  readonly y: Float64Array;
  readonly unseen: Uint8Array;
  readonly data: string;
}

/** Day of the month of each trip (0 for the few pickups just outside the month's median month). */
export function dayOfMonth(trips: TripTable): Int32Array {
  const sorted = Float64Array.from(trips.pickupMs).sort();
  const month = new Date(sorted[sorted.length >> 1]).getUTCMonth();
  return Int32Array.from(trips.pickupMs, (ms) => {
    const d = new Date(ms);
    return d.getUTCMonth() === month ? d.getUTCDate() : 0;
  });
}

/**
 * Scores the training month by the scheme's fold models (same preset and seed as the served model).
 * Nothing of the months the intervals are reported on is read. Throws when a fold has fewer than 50 trips.
 */
export function calibrationResiduals(
  train: TripTable,
  featureSet: FeatureSet,
  params: ModelParams,
  seed: number,
  geometry: ZoneGeometry,
  scheme: CalibrationScheme,
): CalibrationResiduals {
  const day = dayOfMonth(train);
  const folds = calibrationFolds(day, scheme);
  const parts = folds.map(({ fitDay, scoreDay }) => {
    const fitTrips = selectTrips(train, (i) => fitDay(day[i]));
    const scoreTrips = selectTrips(train, (i) => scoreDay(day[i]));
    if (fitTrips.rows < 50 || scoreTrips.rows < 50) {
      throw new TrainingError(
        `cannot calibrate prediction intervals: a fold of the training month has ${fitTrips.rows} trips to fit and ${scoreTrips.rows} to score (at least 50 each)`,
      );
    }
    const model = fitModel(fitTrips, featureSet, params, seed, undefined, geometry);
    return { pred: predict(model, scoreTrips), y: scoreTrips.duration, unseen: unseenPairMask(model, scoreTrips) };
  });
  return {
    pred: concat(
      parts.map((p) => p.pred),
      Float64Array,
    ),
    y: concat(
      parts.map((p) => p.y),
      Float64Array,
    ),
    unseen: concat(
      parts.map((p) => p.unseen),
      Uint8Array,
    ),
    data: schemeDescription(scheme),
  };
}

function calibrationFolds(
  day: Int32Array,
  scheme: CalibrationScheme,
): { fitDay: (d: number) => boolean; scoreDay: (d: number) => boolean }[] {
  if (scheme.kind === 'gap') {
    return [{ fitDay: (d) => d >= 1 && d < scheme.fitBeforeDay, scoreDay: (d) => d >= scheme.scoreFromDay }];
  }
  const lastDay = day.reduce((a, b) => Math.max(a, b), 0);
  const weeks = Math.max(1, Math.floor(lastDay / 7));
  const weekOf = (d: number) => (d < 1 ? -1 : Math.min(weeks - 1, Math.floor((d - 1) / 7)));
  if (weeks < 2)
    throw new TrainingError(`cannot calibrate prediction intervals: the training month spans ${lastDay} days, at least 14 needed`);
  const folds = [];
  const first = { 'forward-weeks': 1, 'last-week': weeks - 1, 'leave-week-out': 0 }[scheme.kind];
  for (let w = first; w < weeks; w++) {
    const week = w;
    folds.push(
      scheme.kind === 'leave-week-out'
        ? { fitDay: (d: number) => weekOf(d) >= 0 && weekOf(d) !== week, scoreDay: (d: number) => weekOf(d) === week }
        : { fitDay: (d: number) => weekOf(d) >= 0 && weekOf(d) < week, scoreDay: (d: number) => weekOf(d) === week },
    );
  }
  return folds;
}

function schemeDescription(scheme: CalibrationScheme): string {
  switch (scheme.kind) {
    case 'gap':
      return `training month: trips from day ${scheme.scoreFromDay} on, scored by a model fitted on days 1-${scheme.fitBeforeDay - 1}`;
    case 'forward-weeks':
      return 'training month: each week from the second on, scored by a model fitted on the weeks before it';
    case 'last-week':
      return 'training month: its last week, scored by a model fitted on the weeks before it';
    case 'leave-week-out':
      return 'training month: each week, scored by a model fitted on the other weeks';
  }
}

function concat<T extends Float64Array | Uint8Array>(parts: T[], Type: { new (n: number): T }): T {
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

/** Fits the interval table on the training month alone (see CalibrationScheme). */
export function calibrateIntervals(
  train: TripTable,
  featureSet: FeatureSet,
  params: ModelParams,
  seed: number,
  geometry: ZoneGeometry,
  options: CalibrationOptions = DEFAULT_CALIBRATION,
): IntervalModel {
  const r = calibrationResiduals(train, featureSet, params, seed, geometry, options.scheme);
  return fitIntervals(r.pred, r.y, r.unseen, r.data, options);
}
