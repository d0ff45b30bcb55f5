import type { FeatureSet } from '../features/model-contract.js';
import { fitFeaturizer, pairKeys, transform, transformOutOfFold, type Featurizer } from './featurizer.js';
import { fitGbdt, predictGbdt, type FitHistory, type GbdtModel, type Matrix } from './gbdt.js';
import { errorMetrics, type ErrorMetrics } from './error-metrics.js';
import type { ModelParams } from './presets.js';
import { assignFolds, createRandom } from './random.js';
import type { TripTable } from '../data/trip-filter.js';
import { loadZoneGeometry, type ZoneGeometry } from './zone-geometry.js';

export interface SplitMetrics {
  readonly overall: ErrorMetrics;
  /** Rows whose pickup–dropoff pair never occurs in the training month. */
  readonly unseenPairs: ErrorMetrics & { readonly share: number };
}

export interface TrainedModel {
  readonly featurizer: Featurizer;
  readonly gbdt: GbdtModel;
  readonly history: FitHistory;
}

/** Fits the featurizer and the trees on the training month (seeded: same data, same model). */
export function fitModel(
  train: TripTable,
  featureSet: FeatureSet,
  params: ModelParams,
  seed: number,
  onRound?: (round: number, validRmse: number) => void,
  geometry: ZoneGeometry = loadZoneGeometry(),
): TrainedModel {
  const featurizer = fitFeaturizer(train, featureSet, params.featurizer, geometry);
  const x = transformOutOfFold(featurizer, train, params.featurizer, seed);
  // why: early stopping watches a slice of the training month, never the validation month it reports on.
  const holdout = assignFolds(train.rows, Math.round(1 / params.earlyStoppingShare), createRandom(seed + 1));
  const fitPart = selectRows(x, train.duration, (i) => holdout[i] !== 0);
  const stopPart = selectRows(x, train.duration, (i) => holdout[i] === 0);
  const weights = params.recencyHalfLifeDays ? recencyWeights(train, params.recencyHalfLifeDays) : undefined;
  const fitWeights = weights?.filter((_, i) => holdout[i] !== 0);
  const { model, history } = fitGbdt(fitPart.x, fitPart.y, stopPart, { ...params.gbdt, seed }, onRound, fitWeights);
  return { featurizer, gbdt: model, history };
}

/** 2^(−age / half-life) per trip, its age in days before the latest pickup of the table. */
function recencyWeights(trips: TripTable, halfLifeDays: number): Float64Array {
  const latest = trips.pickupMs.reduce((a, b) => Math.max(a, b), -Infinity);
  return Float64Array.from(trips.pickupMs, (ms) => 2 ** (-(latest - ms) / (halfLifeDays * 86_400_000)));
}

/** Predictions as the exported graph computes them (float32 features through the fitted tables). */
export function predict(model: TrainedModel, trips: TripTable): Float64Array {
  return predictGbdt(model.gbdt, transform(model.featurizer, trips));
}

/** 1 where the trip's pickup–dropoff pair never occurs in the training month. */
export function unseenPairMask(model: TrainedModel, trips: TripTable): Uint8Array {
  const seen = new Set(model.featurizer.pair.keys);
  return Uint8Array.from(pairKeys(trips), (k) => (seen.has(k) ? 0 : 1));
}

export function evaluate(model: TrainedModel, trips: TripTable, pred: Float64Array): SplitMetrics {
  const unseen = unseenPairMask(model, trips);
  const unseenMetrics = errorMetrics(pred, trips.duration, unseen);
  return {
    overall: errorMetrics(pred, trips.duration),
    unseenPairs: { ...unseenMetrics, share: trips.rows ? unseenMetrics.rows / trips.rows : 0 },
  };
}

function selectRows(x: Matrix, y: Float64Array, keep: (i: number) => boolean): { x: Matrix; y: Float64Array } {
  const index: number[] = [];
  for (let i = 0; i < x.rows; i++) if (keep(i)) index.push(i);
  return {
    x: { rows: index.length, columns: x.columns.map((c) => Float32Array.from(index, (i) => c[i])) },
    y: Float64Array.from(index, (i) => y[i]),
  };
}
