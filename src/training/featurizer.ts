import type { FeatureSet } from '../features/model-contract.js';
import type { Matrix } from './gbdt.js';
import { assignFolds, createRandom } from './random.js';
import { applyEncoding, fitEncoding, outOfFoldEncoding, type EncodingTable } from './target-encoding.js';
import type { TripTable } from '../data/trip-filter.js';
import type { ZoneGeometry } from './zone-geometry.js';

/**
 * The learned featurization in front of the trees. The ONNX graph computes exactly this (see
 * onnx-export.ts): the same keys, the same float32 values, the same clipping.
 */
export interface Featurizer {
  readonly featureSet: FeatureSet;
  readonly prior: number;
  readonly pu: EncodingTable;
  readonly do: EncodingTable;
  readonly pair: EncodingTable;
  /** Mean (clipped) distance of the pair's trips: a trip longer than its pair's usual one takes longer. */
  readonly pairDistance: EncodingTable;
  readonly maxDistance: number;
  readonly geometry: ZoneGeometry;
  readonly geometryFeatures: GeometryFeatures;
  readonly featureNames: readonly string[];
}

/** Which zone-geometry columns feed the trees: none, the centroid distance, or that plus both centroids. */
export type GeometryFeatures = 'none' | 'distance' | 'coordinates';

/**
 * Centroid coordinates of unknown zones (ids outside the table, 264/265 "Unknown"): far away, and on
 * opposite sides for pickup and dropoff so that two unknown zones are far apart too. The centroid
 * distance is then clipped, so "unknown" is one value the trees can learn.
 */
export const UNKNOWN_PU_COORD = 1000;
export const UNKNOWN_DO_COORD = -1000;
export const MAX_ZONE_DISTANCE = 100;

export interface FeaturizerParams {
  /** Pseudo-trips of the prior mixed into each encoding. */
  readonly smoothingZone: number;
  readonly smoothingPair: number;
  /** Folds of the out-of-fold encoding of the training rows. */
  readonly folds: number;
  /** Distances are clipped to [0, maxDistance] miles: the files hold some of thousands of miles. */
  readonly maxDistance: number;
  readonly geometryFeatures: GeometryFeatures;
}

/** The pair key, computed the same way in the graph (Mul and Add on int64). */
export const PAIR_KEY_MULTIPLIER = 1000;

const BASE_FEATURES = ['pu_encoding', 'do_encoding', 'pair_encoding', 'pair_trip_count', 'pair_mean_distance', 'trip_distance_clipped'];
const GEOMETRY_FEATURES: Record<GeometryFeatures, string[]> = {
  none: [],
  distance: ['zone_distance'],
  coordinates: ['zone_distance', 'pu_x', 'pu_y', 'do_x', 'do_y'],
};

/** The raw inputs of the model, as the service passes them (ids may be anything, even unseen). */
export interface RawInputs {
  readonly rows: number;
  readonly puLocationId: ArrayLike<number>;
  readonly doLocationId: ArrayLike<number>;
  readonly tripDistance: Float32Array;
  readonly pickupHour: ArrayLike<number>;
  readonly pickupDow: ArrayLike<number>;
}

/** A pickup–drop-off pair as one number, as the graph computes it. */
export function pairKey(pu: number, dropoff: number): number {
  return pu * PAIR_KEY_MULTIPLIER + dropoff;
}

export function pairKeys(inputs: RawInputs): Float64Array {
  const keys = new Float64Array(inputs.rows);
  for (let i = 0; i < inputs.rows; i++) keys[i] = pairKey(inputs.puLocationId[i], inputs.doLocationId[i]);
  return keys;
}

export function fitFeaturizer(train: TripTable, featureSet: FeatureSet, params: FeaturizerParams, geometry: ZoneGeometry): Featurizer {
  const prior = Math.fround(meanOf(train.duration));
  const distancePrior = Math.fround(meanOf(clippedDistance(train, params.maxDistance)));
  return {
    featureSet,
    prior,
    pu: fitEncoding(train.puLocationId, train.duration, prior, params.smoothingZone),
    do: fitEncoding(train.doLocationId, train.duration, prior, params.smoothingZone),
    pair: fitEncoding(pairKeys(train), train.duration, prior, params.smoothingPair),
    pairDistance: fitEncoding(pairKeys(train), clippedDistance(train, params.maxDistance), distancePrior, params.smoothingPair),
    maxDistance: params.maxDistance,
    geometry,
    geometryFeatures: params.geometryFeatures,
    featureNames: [
      ...BASE_FEATURES,
      ...GEOMETRY_FEATURES[params.geometryFeatures],
      ...(featureSet === 'time' ? ['pickup_hour', 'pickup_dow'] : []),
    ],
  };
}

/** Features of new trips through the fitted tables: what the exported graph computes. */
export function transform(featurizer: Featurizer, inputs: RawInputs): Matrix {
  const keys = pairKeys(inputs);
  const pair = applyEncoding(featurizer.pair, keys);
  return assemble(featurizer, inputs, {
    pu: applyEncoding(featurizer.pu, inputs.puLocationId).value,
    do: applyEncoding(featurizer.do, inputs.doLocationId).value,
    pair: pair.value,
    pairCount: pair.count,
    pairDistance: applyEncoding(featurizer.pairDistance, keys).value,
  });
}

/** Features of the training rows, encoded out of fold (seeded) so no row sees its own target. */
export function transformOutOfFold(featurizer: Featurizer, train: TripTable, params: FeaturizerParams, seed: number): Matrix {
  const fold = assignFolds(train.rows, params.folds, createRandom(seed));
  const encode = (keys: ArrayLike<number>, smoothing: number) =>
    outOfFoldEncoding(keys, train.duration, fold, params.folds, featurizer.prior, smoothing);
  const keys = pairKeys(train);
  const pair = encode(keys, params.smoothingPair);
  const distance = clippedDistance(train, params.maxDistance);
  return assemble(featurizer, train, {
    pu: encode(train.puLocationId, params.smoothingZone).value,
    do: encode(train.doLocationId, params.smoothingZone).value,
    pair: pair.value,
    pairCount: pair.count,
    pairDistance: outOfFoldEncoding(keys, distance, fold, params.folds, featurizer.pairDistance.defaultValue, params.smoothingPair).value,
  });
}

function assemble(
  featurizer: Featurizer,
  inputs: RawInputs,
  encoded: { pu: Float32Array; do: Float32Array; pair: Float32Array; pairCount: Float32Array; pairDistance: Float32Array },
): Matrix {
  const distance = Float32Array.from(clippedDistance(inputs, featurizer.maxDistance));
  const columns = [encoded.pu, encoded.do, encoded.pair, encoded.pairCount, encoded.pairDistance, distance];
  if (featurizer.geometryFeatures !== 'none') columns.push(...geometryColumns(featurizer, inputs));
  if (featurizer.featureSet === 'time') columns.push(Float32Array.from(inputs.pickupHour), Float32Array.from(inputs.pickupDow));
  return { columns, rows: inputs.rows };
}

/** Zone centroids and the distance between them, each operation rounded to float32 like the graph's. */
function geometryColumns(featurizer: Featurizer, inputs: RawInputs): Float32Array[] {
  const g = featurizer.geometry;
  const index = new Map<number, number>();
  g.ids.forEach((id, i) => index.set(id, i));
  const f = Math.fround;
  const n = inputs.rows;
  const [puX, puY, doX, doY, distance] = [0, 0, 0, 0, 0].map(() => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const a = index.get(inputs.puLocationId[i]);
    const b = index.get(inputs.doLocationId[i]);
    puX[i] = a === undefined ? UNKNOWN_PU_COORD : g.x[a];
    puY[i] = a === undefined ? UNKNOWN_PU_COORD : g.y[a];
    doX[i] = b === undefined ? UNKNOWN_DO_COORD : g.x[b];
    doY[i] = b === undefined ? UNKNOWN_DO_COORD : g.y[b];
    const dx = f(puX[i] - doX[i]);
    const dy = f(puY[i] - doY[i]);
    distance[i] = Math.min(f(Math.sqrt(f(f(dx * dx) + f(dy * dy)))), MAX_ZONE_DISTANCE);
  }
  return featurizer.geometryFeatures === 'coordinates' ? [distance, puX, puY, doX, doY] : [distance];
}

/** Distance clipped to [0, max] in float32, as the graph's Clip computes it. */
function clippedDistance(inputs: { rows: number; tripDistance: Float32Array }, max: number): Float64Array {
  const out = new Float64Array(inputs.rows);
  for (let i = 0; i < inputs.rows; i++) out[i] = Math.fround(Math.min(Math.max(inputs.tripDistance[i], 0), max));
  return out;
}

function meanOf(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length > 0 ? s / values.length : 0;
}
