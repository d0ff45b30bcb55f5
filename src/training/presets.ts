import type { FeaturizerParams } from './featurizer.js';
import type { GbdtParams } from './gbdt.js';

export interface ModelParams {
  readonly featurizer: FeaturizerParams;
  readonly gbdt: Omit<GbdtParams, 'seed'>;
  /** Share of the training month held out to decide when boosting stops. */
  readonly earlyStoppingShare: number;
  /**
   * Recency weighting of the trees' squared error: a trip counts 2^(−age / half-life), its age in days before
   * the month's last pickup. Absent = every trip counts the same (all presets).
   */
  readonly recencyHalfLifeDays?: number;
}

const FEATURIZER_DEFAULTS: FeaturizerParams = {
  smoothingZone: 20,
  smoothingPair: 10,
  folds: 5,
  maxDistance: 60,
  geometryFeatures: 'coordinates',
};

/**
 * Parameter presets, chosen on Jan → Feb 2021 (holdout never read); see README "The model".
 *
 * `serving` (the default): a few dozen large trees. A prediction walks every tree, and past a few hundred
 * kB the nodes no longer stay in the CPU caches, so cost grows with the total node count (docs/performance.md):
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
