import type { FeatureSet } from '../features/model-contract.js';
import { fitFeaturizer, pairKeys, transform, transformOutOfFold, type Featurizer, type FeaturizerParams } from './featurizer.js';
import { fitGbdt, predictGbdt, type FitHistory, type GbdtModel, type GbdtParams, type Matrix } from './gbdt.js';
import { errorMetrics, type ErrorMetrics } from './metrics.js';
import { assignFolds, createRandom } from './random.js';
import type { TripTable } from './trip-filter.js';
import { loadZoneGeometry, type ZoneGeometry } from './zone-geometry.js';

export interface ModelParams {
  readonly featurizer: FeaturizerParams;
  readonly gbdt: Omit<GbdtParams, 'seed'>;
  /** Share of the training month held out to decide when boosting stops. */
  readonly earlyStoppingShare: number;
}

const FEATURIZER_DEFAULTS: FeaturizerParams = { smoothingZone: 20, smoothingPair: 10, folds: 5, maxDistance: 60, geometryFeatures: 'coordinates' };

/**
 * Parameter presets, chosen on Jan → Feb 2021 (holdout never read); see README "The model".
 *
 * `serving` (the default): a few dozen large trees. A prediction walks every tree, and past a few hundred
 * kB the nodes no longer stay in the CPU caches, so cost grows with the total node count (issue 5):
 * 43 trees of up to 127 leaves run 1,000 trips ~18× faster than `accurate` for +0.13 min of February RMSE.
 * `accurate`: many small trees at a low learning rate: the lowest RMSE found, at ~750 trees.
 */
const BOOSTING = { lambda: 1, maxBins: 255, maxRounds: 2000, earlyStoppingRounds: 50, subsample: 0.8 } as const;

export const PRESETS = {
  serving: {
    featurizer: FEATURIZER_DEFAULTS,
    gbdt: { learningRate: 0.3, maxLeaves: 127, maxDepth: 14, minSamplesLeaf: 40, ...BOOSTING },
    earlyStoppingShare: 0.1,
  },
  accurate: {
    featurizer: FEATURIZER_DEFAULTS,
    gbdt: { learningRate: 0.05, maxLeaves: 63, maxDepth: 12, minSamplesLeaf: 40, ...BOOSTING },
    earlyStoppingShare: 0.1,
  },
} as const satisfies Record<string, ModelParams>;

export type Preset = keyof typeof PRESETS;

export const DEFAULT_PARAMS: ModelParams = PRESETS.serving;

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
  const { model, history } = fitGbdt(fitPart.x, fitPart.y, stopPart, { ...params.gbdt, seed }, onRound);
  return { featurizer, gbdt: model, history };
}

/** Predictions as the exported graph computes them (float32 features through the fitted tables). */
export function predict(model: TrainedModel, trips: TripTable): Float64Array {
  return predictGbdt(model.gbdt, transform(model.featurizer, trips));
}

export function evaluate(model: TrainedModel, trips: TripTable, pred: Float64Array): SplitMetrics {
  const seen = new Set(model.featurizer.pair.keys);
  const keys = pairKeys(trips);
  const unseen = Uint8Array.from(keys, (k) => (seen.has(k) ? 0 : 1));
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
