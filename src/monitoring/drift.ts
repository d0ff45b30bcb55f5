/**
 * Data and prediction drift against a model version's training month: the math shared by online
 * monitoring, batch scoring and training. Pure functions, no I/O (docs/drift.md explains the rule).
 *
 * Scores follow Evidently's defaults for large references: Jensen–Shannon distance (natural log) for
 * categorical features (zones, hour, weekday), Wasserstein distance over the reference's standard deviation
 * for numeric ones (distance, prediction), here on fine histograms. The verdict differs: Evidently flags a
 * score ≥ 0.1 whatever the sample size, which a day of 2,800 trips over 265 zones exceeds by sampling noise
 * alone. A feature drifts here only when its score is above what samples of the same size drawn from the
 * reference itself reach (the 99th percentile of bootstrap scores, tabulated at training time) AND at
 * least `min_effect`.
 */
import * as z from 'zod';

/** Evidently's fixed drift threshold, reported beside our verdict. */
export const EVIDENTLY_THRESHOLD = 0.1;

export const DRIFT_FEATURES = ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow', 'prediction'] as const;
export type DriftFeatureName = (typeof DRIFT_FEATURES)[number];

/** Bootstrap 99th-percentile scores by sample size n (ascending). */
const ThresholdTableSchema = z
  .object({ n: z.array(z.number().positive()).min(1), score: z.array(z.number().nonnegative()).min(1) })
  .refine((t) => t.n.length === t.score.length, { message: 'n and score must have the same length' })
  .refine((t) => t.n.every((v, i) => i === 0 || v > t.n[i - 1]), { message: 'n must be ascending' });

const Common = {
  feature: z.string().min(1),
  /** Reference counts per bin. */
  counts: z.array(z.number().nonnegative()),
  thresholds: ThresholdTableSchema,
  min_effect: z.number().nonnegative(),
  /** False for features that are reported but never flagged (the weekday: a daily window holds one). */
  monitored: z.boolean(),
};

/** One bin per listed value, then a last 'other' bin for anything else (unknown zones, out-of-range hours). */
export const CategoricalReferenceSchema = z
  .object({ ...Common, method: z.literal('jensenshannon'), values: z.array(z.number()) })
  .refine((f) => f.counts.length === f.values.length + 1, { message: 'counts must have one bin per value plus an other bin' });

/**
 * Bins [edges[i], edges[i+1]); values below the first edge count in the first bin, values at or above the
 * last edge in the last one. `std` is the reference's standard deviation (of values clamped to the edges).
 */
export const NumericReferenceSchema = z
  .object({ ...Common, method: z.literal('wasserstein_normed'), edges: z.array(z.number()).min(2), std: z.number().nonnegative() })
  .refine((f) => f.counts.length === f.edges.length - 1, { message: 'counts must have one bin per pair of edges' })
  .refine((f) => f.edges.every((v, i) => i === 0 || v > f.edges[i - 1]), { message: 'edges must be ascending' });

export const FeatureReferenceSchema = z.union([CategoricalReferenceSchema, NumericReferenceSchema]);

export const DriftReferenceSchema = z.object({
  format_version: z.literal(1),
  /** What the reference describes, e.g. "training month 2021-01 (73,907 trips)". */
  data: z.string(),
  rows: z.number().int().nonnegative(),
  bootstrap: z.object({ replicates: z.number().int().positive(), quantile: z.number().gt(0).lt(1), seed: z.number().int() }),
  min_effect: z.number().nonnegative(),
  features: z.array(FeatureReferenceSchema).min(1),
});

export type CategoricalReference = z.infer<typeof CategoricalReferenceSchema>;
export type NumericReference = z.infer<typeof NumericReferenceSchema>;
export type FeatureReference = z.infer<typeof FeatureReferenceSchema>;
export type DriftReference = z.infer<typeof DriftReferenceSchema>;

export interface FeatureDrift {
  readonly feature: string;
  readonly method: 'jensenshannon' | 'wasserstein_normed';
  /** NaN when the window holds no value of the feature. */
  readonly score: number;
  /** The bootstrap noise level for a sample of this size. */
  readonly threshold: number;
  readonly min_effect: number;
  /** Evidently's verdict: score ≥ 0.1. */
  readonly evidently_drifted: boolean;
  /** Ours: score > threshold and score ≥ min_effect (never for unmonitored features). */
  readonly drifted: boolean;
  readonly n: number;
}

/**
 * The drift reference of a model version from its training.json (`drift_reference`), or undefined when
 * the version has none (versions 1–3) or it does not parse: callers then report "no reference".
 */
export function parseDriftReference(trainingJson: unknown): DriftReference | undefined {
  if (trainingJson === null || typeof trainingJson !== 'object') return undefined;
  // why jitless: parsed once per model version, so zod's compiled parser would cost more than it saves.
  const result = DriftReferenceSchema.safeParse((trainingJson as Record<string, unknown>).drift_reference, { jitless: true });
  return result.success ? result.data : undefined;
}

/** The bin a value counts in (what online counters increment). NaN counts in 'other' / the first bin. */
export function binIndex(feature: FeatureReference, value: number): number {
  if (feature.method === 'jensenshannon') {
    const i = valueIndex(feature).get(value);
    return i ?? feature.values.length;
  }
  const { edges } = feature;
  if (!(value >= edges[1])) return 0;
  const last = edges.length - 2;
  if (value >= edges[last]) return last;
  return floorIndex(edges, value, 1, last - 1);
}

/**
 * The largest i in [lo, hi] with edges[i] <= value (edges ascending, edges[lo] <= value): the bin of a
 * value, by binary search. Shared with training's histograms (training/histograms.ts).
 */
export function floorIndex(edges: ArrayLike<number>, value: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (value >= edges[mid]) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const valueIndexes = new WeakMap<CategoricalReference, Map<number, number>>();
function valueIndex(feature: CategoricalReference): Map<number, number> {
  let index = valueIndexes.get(feature);
  if (!index) {
    index = new Map(feature.values.map((v, i) => [v, i]));
    valueIndexes.set(feature, index);
  }
  return index;
}

/** How many bins the feature has (the length of its counts). */
export function binTotal(feature: Pick<CategoricalReference, 'method' | 'values'> | Pick<NumericReference, 'method' | 'edges'>): number {
  return feature.method === 'jensenshannon' ? feature.values.length + 1 : feature.edges.length - 1;
}

/** Counts per bin of a batch of values. */
export function binCounts(feature: FeatureReference, values: ArrayLike<number>): number[] {
  const counts = new Array<number>(binTotal(feature)).fill(0);
  for (let i = 0; i < values.length; i++) counts[binIndex(feature, values[i])]++;
  return counts;
}

/** The feature's drift score of a window's bin counts against the reference. NaN for an empty window. */
export function scoreFeature(feature: FeatureReference, counts: ArrayLike<number>): number {
  if (counts.length !== feature.counts.length) {
    throw new RangeError(`${feature.feature}: ${counts.length} counts for ${feature.counts.length} reference bins`);
  }
  return feature.method === 'jensenshannon'
    ? jensenShannonDistance(feature.counts, counts)
    : wassersteinNormed(feature.edges, feature.std, feature.counts, counts);
}

/** Jensen–Shannon distance (natural log, so in [0, √ln 2]) between two count vectors, as scipy computes it. */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const sp = sum(p);
  const sq = sum(q);
  if (sp === 0 || sq === 0) return Number.NaN;
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) divergence += a * Math.log(a / m);
    if (b > 0) divergence += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, divergence / 2));
}

/**
 * Wasserstein-1 distance between two histograms on the same bins, each bin's mass at its midpoint,
 * divided by max(std, 0.001) as Evidently normalises it. Exact for the binned data; the binning itself
 * moves a value by at most half a bin width.
 */
export function wassersteinNormed(edges: readonly number[], std: number, p: ArrayLike<number>, q: ArrayLike<number>): number {
  const sp = sum(p);
  const sq = sum(q);
  if (sp === 0 || sq === 0) return Number.NaN;
  let fp = 0;
  let fq = 0;
  let distance = 0;
  for (let i = 0; i < p.length - 1; i++) {
    fp += p[i] / sp;
    fq += q[i] / sq;
    const gap = (edges[i + 2] - edges[i]) / 2;
    distance += Math.abs(fp - fq) * gap;
  }
  return distance / Math.max(std, 0.001);
}

/** The bootstrap noise level for a window of n values: log-linear between grid points, clamped outside. */
export function thresholdFor(feature: FeatureReference, n: number): number {
  const { n: grid, score } = feature.thresholds;
  if (!(n > grid[0])) return score[0];
  const last = grid.length - 1;
  if (n >= grid[last]) return score[last];
  let i = 0;
  while (n > grid[i + 1]) i++;
  const t = (Math.log(n) - Math.log(grid[i])) / (Math.log(grid[i + 1]) - Math.log(grid[i]));
  return score[i] + t * (score[i + 1] - score[i]);
}

/** Judges every feature of the reference that `countsByFeature` holds counts for, in the reference's order. */
export function judgeDrift(reference: DriftReference, countsByFeature: Record<string, ArrayLike<number>>): FeatureDrift[] {
  const out: FeatureDrift[] = [];
  for (const feature of reference.features) {
    const counts = countsByFeature[feature.feature];
    if (!counts) continue;
    const n = sum(counts);
    const score = scoreFeature(feature, counts);
    const threshold = thresholdFor(feature, n);
    out.push({
      feature: feature.feature,
      method: feature.method,
      score,
      threshold,
      min_effect: feature.min_effect,
      evidently_drifted: score >= EVIDENTLY_THRESHOLD,
      drifted: feature.monitored && n > 0 && score > threshold && score >= feature.min_effect,
      n,
    });
  }
  return out;
}

/**
 * The threshold table: for each n of the grid, the `quantile` of the score of `replicates` windows of n
 * consecutive reference values (in pickup-time order, from a random start, wrapping around) against the
 * whole reference. `rowBins` holds each reference row's bin in time order; `random` returns uniforms in
 * [0, 1) (seeded by the caller, so the table is reproducible).
 *
 * why windows and not rows drawn one by one: traffic has hours and weekdays. A day of trips is not a random
 * sample of the month (a Sunday's zones and trip times differ from a Tuesday's), so independent draws set the
 * noise level too low: with them, January 2021's own days flagged pickup zones on 11 of 31 days and the
 * prediction on 12 (docs/drift.md). Windows of consecutive trips carry that rhythm, as a monitored window does.
 */
export function bootstrapThresholds(
  feature: FeatureReference,
  rowBins: ArrayLike<number>,
  grid: readonly number[],
  replicates: number,
  quantile: number,
  random: () => number,
): { n: number[]; score: number[] } {
  const rows = rowBins.length;
  const counts = new Float64Array(binTotal(feature));
  const scores = new Float64Array(replicates);
  const score: number[] = [];
  for (const n of grid) {
    for (let r = 0; r < replicates; r++) {
      counts.fill(0);
      let at = Math.floor(random() * rows);
      for (let k = 0; k < n; k++) {
        counts[rowBins[at]]++;
        if (++at === rows) at = 0;
      }
      scores[r] = scoreFeature(feature, counts);
    }
    scores.sort();
    score.push(scores[Math.min(replicates - 1, Math.ceil(quantile * replicates) - 1)]);
  }
  return { n: [...grid], score };
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}
