import { createHash } from 'node:crypto';
import path from 'node:path';
import type { FeatureSet } from '../features/model-contract.js';
import { TrainingError } from './errors.js';
import { exportOnnx } from './onnx-export.js';
import { checkParity, runOnnxOutputs, toInputColumns } from './onnx-check.js';
import {
  calibrateIntervals,
  DEFAULT_CALIBRATION,
  intervalCoverage,
  type CalibrationOptions,
  type CoverageReport,
  type IntervalModel,
} from './intervals.js';
import { buildDriftReference } from './drift-reference.js';
import { buildZoneTable, ZONE_LOOKUP_PATH } from './zone-table.js';
import { INTERVAL_OUTPUTS, OUTPUT_NAME } from '../features/model-contract.js';
import { DEFAULT_PARAMS, type ModelParams } from './presets.js';
import { evaluate, fitModel, predict, unseenPairMask, type SplitMetrics, type TrainedModel } from './trained-model.js';
import type { Progress } from '../cli/progress.js';
import { createMlflowClient, type MlflowClientOptions } from '../mlflow/client.js';
import { publishToMlflow } from './publish-mlflow.js';
import { parseRegistryUri, publishModel } from './registry-writer.js';
import { dataRecord, referenceHistograms, trainingRecord, type DataRecord } from './training-record.js';
import { filterTrips, type TripTable } from '../data/trip-filter.js';
import { readTripParquet } from '../data/trip-parquet.js';
import { CENTROIDS_PATH, loadZoneGeometry } from './zone-geometry.js';
import { loadSourceFile } from './trip-source.js';

export interface TrainOptions {
  readonly train: string;
  readonly validation: string;
  /** More months to report metrics on (not used for fitting or stopping). */
  readonly evaluate?: readonly string[];
  readonly featureSet: FeatureSet;
  readonly registry: string;
  readonly name: string;
  readonly alias?: string;
  readonly seed: number;
  /** Zone centroid table (LocationID,lon,lat); default ../shared/data/taxi_zone_centroids.csv. */
  readonly zones?: string;
  /** TLC zone lookup (LocationID,Borough,Zone,service_zone) for zones.json; default ../shared/data/taxi_zone_lookup.csv. */
  readonly zoneLookup?: string;
  readonly params?: ModelParams;
  /** How the 80 % interval is calibrated on the training month (default: version 4's gap scheme, additive). */
  readonly calibration?: CalibrationOptions;
  /** Client options (credentials, retries) when `registry` is an http(s):// MLflow server. */
  readonly mlflow?: MlflowClientOptions;
}

export interface TrainOutcome {
  readonly version: string;
  readonly dir: string;
  readonly record: Record<string, unknown>;
  readonly train: SplitMetrics;
  readonly validation: SplitMetrics;
  readonly evaluation: Record<string, SplitMetrics>;
}

/** Fewer trips than this cannot feed out-of-fold encodings and an early-stopping split. */
const MIN_TRAIN_TRIPS = 50;

/**
 * Reads and filters the data, fits, evaluates, exports, checks parity and only then publishes, so
 * a failure anywhere before the last step leaves the registry as it was.
 */
export async function runTraining(options: TrainOptions, progress: Progress): Promise<TrainOutcome> {
  const params = options.params ?? DEFAULT_PARAMS;
  const remote = /^https?:\/\//.test(options.registry);
  // why: a bad registry is refused before hours of training, not after.
  const registryRoot = remote ? undefined : parseRegistryUri(options.registry);
  const mlflow = remote ? createMlflowClient({ ...options.mlflow, trackingUri: options.registry }) : undefined;
  const train = await progress.stage('read training data', () => loadTrips(options.train, 'training data', progress));
  const validation = await progress.stage('read validation data', () => loadTrips(options.validation, 'validation data', progress));
  const extra: Loaded[] = [];
  for (const source of options.evaluate ?? [])
    extra.push(await progress.stage(`read ${source}`, () => loadTrips(source, source, progress)));
  if (train.table.rows < MIN_TRAIN_TRIPS) {
    throw new TrainingError(`training data ${options.train} has only ${train.table.rows} usable trips, at least ${MIN_TRAIN_TRIPS} needed`);
  }

  const geometry = loadZoneGeometry(options.zones);
  const zoneTable = buildZoneTable(options.zoneLookup ?? ZONE_LOOKUP_PATH, options.zones ?? CENTROIDS_PATH);
  const model = await progress.stage('fit', (tick) =>
    fitModel(
      train.table,
      options.featureSet,
      params,
      options.seed,
      (round, rmse) => tick(round + 1, params.gbdt.maxRounds, `early-stopping RMSE ${rmse.toFixed(4)}`),
      geometry,
    ),
  );
  const { trainPred, validationPred, metrics } = await progress.stage('evaluate', () => {
    const trainPred = predict(model, train.table);
    const validationPred = predict(model, validation.table);
    const evaluation: Record<string, SplitMetrics> = {};
    for (const e of extra) evaluation[e.data.file] = evaluate(model, e.table, predict(model, e.table));
    return {
      trainPred,
      validationPred,
      metrics: {
        train: evaluate(model, train.table, trainPred),
        validation: evaluate(model, validation.table, validationPred),
        evaluation,
      },
    };
  });
  const intervals = await progress.stage('calibrate intervals', () =>
    calibrateIntervals(train.table, options.featureSet, params, options.seed, geometry, options.calibration ?? DEFAULT_CALIBRATION),
  );
  const onnx = await progress.stage('export ONNX', () =>
    exportOnnx(
      model.featurizer,
      model.gbdt,
      `NYC taxi ride duration in minutes (${options.featureSet} feature set) with an 80 % prediction interval; see training.json beside this file`,
      intervals,
    ),
  );
  const parity = await progress.stage('check ONNX parity', () =>
    checkParity(onnx, options.featureSet, validation.table, validationPred, {
      model: intervals,
      unseen: unseenPairMask(model, validation.table),
    }),
  );
  const coverage = await progress.stage('measure interval coverage', async () => {
    const evaluation: Record<string, CoverageReport> = {};
    for (const e of extra) evaluation[e.data.file] = await measureCoverage(onnx, options.featureSet, model, e.table);
    return { validation: await measureCoverage(onnx, options.featureSet, model, validation.table), evaluation };
  });
  const driftReference = await progress.stage('drift reference', () =>
    buildDriftReference(train.table, trainPred, train.data.month, options.seed),
  );

  const record = trainingRecord({
    name: options.name,
    model,
    params,
    seed: options.seed,
    data: {
      train: train.data,
      validation: validation.data,
      evaluation: extra.map((e) => e.data),
      zone_centroids: { file: path.basename(options.zones ?? CENTROIDS_PATH), sha256: model.featurizer.geometry.sha256 },
    },
    metrics,
    parity,
    histograms: referenceHistograms(model, train.table, trainPred),
    intervals: intervalRecord(intervals, coverage),
    driftReference,
    timings: progress.timings,
    onnxBytes: onnx.byteLength,
    onnxSha256: createHash('sha256').update(onnx).digest('hex'),
  });
  const request = {
    name: options.name,
    featureSet: options.featureSet,
    onnx,
    trainingRecord: record,
    alias: options.alias,
    zoneTable,
    intervals: true,
  };
  const published = await progress.stage('register', () =>
    mlflow ? publishToMlflow({ client: mlflow, ...request }) : publishModel({ root: registryRoot!, ...request }),
  );
  return { ...published, record, train: metrics.train, validation: metrics.validation, evaluation: metrics.evaluation };
}

interface Loaded {
  readonly table: TripTable;
  readonly data: DataRecord;
}

async function loadTrips(source: string, label: string, progress: Progress): Promise<Loaded> {
  const file = await loadSourceFile(source);
  const { table, report } = filterTrips(await readTripParquet(file.bytes, source));
  const d = report.dropped;
  progress.info(
    `  ${file.name}: ${report.rowsRead} rows, ${d.duration_outside_1_60_min} outside 1–60 min, ` +
      `dropped ${d.missing_field} with missing fields, ${d.impossible_pickup_date} with pickups outside ${report.month}, ` +
      `${d.zone_out_of_range} with zone ids outside 1–265, ${d.negative_distance} with negative distance → ${report.rowsKept} trips`,
  );
  if (report.rowsKept === 0) throw new TrainingError(`${label} ${source}: no trips left after filtering (${report.rowsRead} rows read)`);
  return { table, data: dataRecord(file, report) };
}

/** Coverage of the graph's own interval outputs on a month with known durations. */
async function measureCoverage(
  onnx: Uint8Array,
  featureSet: TrainOptions['featureSet'],
  model: TrainedModel,
  trips: TripTable,
): Promise<CoverageReport> {
  const out = await runOnnxOutputs(onnx, featureSet, toInputColumns(trips));
  const [p10, p90] = INTERVAL_OUTPUTS;
  return intervalCoverage(out[OUTPUT_NAME], out[p10], out[p90], trips.duration, unseenPairMask(model, trips));
}

function intervalRecord(intervals: IntervalModel, coverage: { validation: CoverageReport; evaluation: Record<string, CoverageReport> }) {
  return { outputs: [...INTERVAL_OUTPUTS], ...intervals, validation: coverage.validation, evaluation: coverage.evaluation };
}
