import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INPUTS_BY_FEATURE_SET, OUTPUT_NAME } from '../features/model-contract.js';
import { evenEdges, histogram, type Histogram } from './histograms.js';
import type { ModelParams } from './presets.js';
import type { SplitMetrics, TrainedModel } from './trained-model.js';
import type { FilterReport, TripTable } from '../data/trip-filter.js';
import type { SourceFile } from './trip-source.js';
import { PARITY_TOLERANCE_MIN, type ParityReport } from './onnx-check.js';
import type { DriftReference } from '../monitoring/drift.js';
import { INTERVAL_OUTPUTS } from '../features/model-contract.js';
import { ZONES_FILE } from '../features/zones.js';

/** What a data file contributed, so a reader can tell exactly which bytes made the model. */
export interface DataRecord {
  readonly source: string;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly month: string;
  readonly rows_read: number;
  readonly rows_after_duration_filter: number;
  readonly rows_kept: number;
  readonly dropped: FilterReport['dropped'];
}

export function dataRecord(file: SourceFile, report: FilterReport): DataRecord {
  return {
    source: file.source,
    file: file.name,
    sha256: file.sha256,
    bytes: file.bytes.byteLength,
    month: report.month,
    rows_read: report.rowsRead,
    rows_after_duration_filter: report.rowsAfterDurationFilter,
    rows_kept: report.rowsKept,
    dropped: report.dropped,
  };
}

/** The commit the trainer ran from, and whether the code that shapes the model (training, features, dependencies) had uncommitted changes. */
export function codeVersion(): { git_commit: string | null; git_dirty: boolean | null } {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return {
      git_commit: git('rev-parse', 'HEAD'),
      git_dirty: git('status', '--porcelain', '--', 'src/training', 'src/features', 'package.json', 'package-lock.json') !== '',
    };
  } catch {
    return { git_commit: null, git_dirty: null };
  }
}

/**
 * Reference distributions for drift monitoring: every model input and the prediction, on the
 * training month (the data the model learned from). Zone ids and times get one bin per value.
 */
export function referenceHistograms(model: TrainedModel, trips: TripTable, pred: Float64Array): Record<string, Histogram> {
  const zones = evenEdges(0.5, 265.5, 1);
  const all: Record<string, Histogram> = {
    PULocationID: histogram(trips.puLocationId, zones),
    DOLocationID: histogram(trips.doLocationId, zones),
    trip_distance: histogram(trips.tripDistance, evenEdges(0, 30, 0.5)),
    pickup_hour: histogram(trips.pickupHour, evenEdges(-0.5, 23.5, 1)),
    pickup_dow: histogram(trips.pickupDow, evenEdges(-0.5, 6.5, 1)),
    [OUTPUT_NAME]: histogram(pred, evenEdges(0, 60, 1)),
  };
  const names = [...INPUTS_BY_FEATURE_SET[model.featurizer.featureSet].map((s) => s.name), OUTPUT_NAME];
  return Object.fromEntries(names.map((n) => [n, all[n]]));
}

export interface TrainingRecordParts {
  readonly name: string;
  readonly model: TrainedModel;
  readonly params: ModelParams;
  readonly seed: number;
  readonly data: { train: DataRecord; validation: DataRecord; evaluation: DataRecord[]; zone_centroids: { file: string; sha256: string } };
  readonly metrics: { train: SplitMetrics; validation: SplitMetrics; evaluation: Record<string, SplitMetrics> };
  readonly parity: ParityReport;
  readonly histograms: Record<string, Histogram>;
  /** Interval segments and coverage on the validation and evaluation months (absent: no intervals). */
  readonly intervals?: Record<string, unknown>;
  readonly driftReference?: DriftReference;
  readonly timings: Record<string, number>;
  readonly onnxBytes: number;
  readonly onnxSha256: string;
}

export function trainingRecord(parts: TrainingRecordParts): Record<string, unknown> {
  const { model } = parts;
  return {
    format_version: 1,
    model_name: parts.name,
    feature_set: model.featurizer.featureSet,
    inputs: INPUTS_BY_FEATURE_SET[model.featurizer.featureSet],
    output: { name: OUTPUT_NAME, type: 'float32', unit: 'minutes' },
    ...(parts.intervals
      ? { interval_outputs: INTERVAL_OUTPUTS.map((name) => ({ name, type: 'float32', unit: 'minutes' })), zones: ZONES_FILE }
      : {}),
    model_onnx: { bytes: parts.onnxBytes, sha256: parts.onnxSha256 },
    code: { ...codeVersion(), node_version: process.version },
    created_at: new Date().toISOString(),
    seed: parts.seed,
    data: parts.data,
    params: parts.params,
    model_summary: {
      features: model.featurizer.featureNames,
      prior_mean_minutes: model.featurizer.prior,
      zones_encoded: { PULocationID: model.featurizer.pu.keys.length, DOLocationID: model.featurizer.do.keys.length },
      pairs_encoded: model.featurizer.pair.keys.length,
      trees: model.gbdt.trees.length,
      boosting_rounds_run: model.history.rounds,
      early_stopping_best_rmse: model.history.validRmse[model.history.bestRound],
    },
    metrics: {
      train: metricsRecord(parts.metrics.train),
      validation: metricsRecord(parts.metrics.validation),
      evaluation: Object.fromEntries(Object.entries(parts.metrics.evaluation).map(([file, m]) => [file, metricsRecord(m)])),
    },
    parity: {
      rows: parts.parity.rows,
      max_abs_diff_minutes: parts.parity.maxAbsDiff,
      tolerance_minutes: PARITY_TOLERANCE_MIN,
      out_of_range_zone_predictions: parts.parity.outOfRangePredictions,
      ...(parts.parity.intervals
        ? {
            interval_max_abs_diff_minutes: parts.parity.intervals.maxAbsDiff,
            interval_edge_inputs_p10_duration_p90: parts.parity.intervals.edgeInputs,
          }
        : {}),
    },
    ...(parts.intervals ? { intervals: parts.intervals } : {}),
    reference_histograms: { data: 'train', ...parts.histograms },
    ...(parts.driftReference ? { drift_reference: parts.driftReference } : {}),
    resources: { stage_seconds: parts.timings, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) },
  };
}

/** snake_case like the rest of training.json; rows in a split, RMSE and MAE in minutes. */
function metricsRecord(m: SplitMetrics) {
  return {
    overall: m.overall,
    unseen_pairs: { rows: m.unseenPairs.rows, share: m.unseenPairs.share, rmse: m.unseenPairs.rmse, mae: m.unseenPairs.mae },
  };
}
