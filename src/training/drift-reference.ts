import {
  binCounts,
  binIndex,
  bootstrapThresholds,
  type DriftFeatureName,
  type DriftReference,
  type FeatureReference,
} from '../monitoring/drift.js';
import { createRandom } from './random.js';
import { MAX_ZONE_ID, type TripTable } from '../data/trip-filter.js';

/** Window sizes the noise level is tabulated for: log-spaced from a few hours of traffic to a busy month. */
export const DRIFT_GRID = [250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000];
export const DRIFT_REPLICATES = 200;
export const DRIFT_QUANTILE = 0.99;
/** Below this a difference is not worth an alert however sure it is: Evidently's 0.1, for both methods. */
export const DRIFT_MIN_EFFECT = 0.1;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** 0.1-mile and 0.1-minute bins up to 60, the model's own clip of the distance and the target's range. */
const fineEdges = () => range(0, 600).map((i) => i / 10);

/**
 * The drift reference of a new version (training.json → `drift_reference`): the training month's bins and
 * counts for each monitored feature and for this version's own predictions on that month, and the bootstrap
 * threshold table (seeded: the same data and seed give the same table).
 */
export function buildDriftReference(trips: TripTable, pred: ArrayLike<number>, month: string, seed: number): DriftReference {
  const columns: Record<DriftFeatureName, ArrayLike<number>> = {
    PULocationID: trips.puLocationId,
    DOLocationID: trips.doLocationId,
    trip_distance: trips.tripDistance,
    pickup_hour: trips.pickupHour,
    pickup_dow: trips.pickupDow,
    prediction: pred,
  };
  const categorical = (feature: DriftFeatureName, values: number[], monitored = true) => ({
    feature,
    method: 'jensenshannon' as const,
    values,
    monitored,
  });
  const numeric = (feature: DriftFeatureName, edges: number[]) => ({
    feature,
    method: 'wasserstein_normed' as const,
    edges,
    std: clampedStd(columns[feature], edges),
    monitored: true,
  });
  const specs = [
    categorical('PULocationID', range(1, MAX_ZONE_ID)),
    categorical('DOLocationID', range(1, MAX_ZONE_ID)),
    numeric('trip_distance', fineEdges()),
    categorical('pickup_hour', range(0, 23)),
    categorical('pickup_dow', range(0, 6), false),
    numeric('prediction', fineEdges()),
  ];
  const random = createRandom(seed);
  const order = Uint32Array.from({ length: trips.rows }, (_, i) => i).sort((a, b) => trips.pickupMs[a] - trips.pickupMs[b] || a - b);
  const features = specs.map((spec): FeatureReference => {
    const base = { ...spec, counts: [] as number[], thresholds: { n: [1], score: [0] }, min_effect: DRIFT_MIN_EFFECT };
    const values = columns[spec.feature];
    base.counts = binCounts(base, values);
    const rowBins = Int32Array.from(order, (i) => binIndex(base, values[i]));
    return { ...base, thresholds: bootstrapThresholds(base, rowBins, DRIFT_GRID, DRIFT_REPLICATES, DRIFT_QUANTILE, random) };
  });
  return {
    format_version: 1,
    data: `training month ${month} (${trips.rows} trips)`,
    rows: trips.rows,
    bootstrap: { replicates: DRIFT_REPLICATES, quantile: DRIFT_QUANTILE, seed },
    min_effect: DRIFT_MIN_EFFECT,
    features,
  };
}

/** Standard deviation of the values clamped to the histogram's range (what the histogram describes). */
function clampedStd(values: ArrayLike<number>, edges: number[]): number {
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(Math.max(values[i], lo), hi);
    s += v;
    s2 += v * v;
  }
  const n = Math.max(1, values.length);
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}
