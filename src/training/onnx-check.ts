import * as ort from 'onnxruntime-node';
import {
  allocateInputColumns,
  INPUTS_BY_FEATURE_SET,
  INTERVAL_OUTPUTS,
  OUTPUT_NAME,
  type FeatureSet,
  type ModelInputColumns,
} from '../features/model-contract.js';
import { ortTelemetryOffByDefault } from '../model/ort-session.js';
import { TrainingError } from './errors.js';
import { intervalBounds, type IntervalModel } from './intervals.js';
import type { TripTable } from '../data/trip-filter.js';

/** Largest |ONNX − trainer| prediction difference accepted, in minutes. */
export const PARITY_TOLERANCE_MIN = 1e-3;

export interface ParityReport {
  readonly rows: number;
  readonly maxAbsDiff: number;
  /** Prediction for trips whose ids are outside 1–265 or never seen: proves the back-off is finite. */
  readonly outOfRangePredictions: number[];
  /** With intervals: largest |graph − trainer| bound given the graph's duration, and edge-input bounds [p10, duration, p90]. */
  readonly intervals?: { readonly maxAbsDiff: number; readonly edgeInputs: [number, number, number][] };
}

/** Trips as the service sends them: the shared contract's column layout. */
export function toInputColumns(trips: TripTable): ModelInputColumns {
  const columns = allocateInputColumns(trips.rows);
  for (let i = 0; i < trips.rows; i++) {
    columns.PULocationID[i] = BigInt(trips.puLocationId[i]);
    columns.DOLocationID[i] = BigInt(trips.doLocationId[i]);
    columns.pickup_hour[i] = BigInt(trips.pickupHour[i]);
    columns.pickup_dow[i] = BigInt(trips.pickupDow[i]);
  }
  columns.trip_distance.set(trips.tripDistance);
  return columns;
}

/** Runs the exported graph with onnxruntime-node, the runtime the service uses: `duration` only. */
export async function runOnnx(model: Uint8Array, featureSet: FeatureSet, columns: ModelInputColumns): Promise<Float32Array> {
  return (await runOnnxOutputs(model, featureSet, columns))[OUTPUT_NAME];
}

/** Every float32 [N] output of the graph by name (`duration`, and the interval bounds when it has them). */
export async function runOnnxOutputs(
  model: Uint8Array,
  featureSet: FeatureSet,
  columns: ModelInputColumns,
): Promise<Record<string, Float32Array>> {
  ortTelemetryOffByDefault();
  const session = await ort.InferenceSession.create(model);
  try {
    const rows = columns.trip_distance.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of INPUTS_BY_FEATURE_SET[featureSet]) {
      const data = columns[spec.name as keyof ModelInputColumns];
      feeds[spec.name] = new ort.Tensor(spec.type, data, [rows]);
    }
    const results = await session.run(feeds);
    if (!results[OUTPUT_NAME]) throw new TrainingError(`model has no ${OUTPUT_NAME} output`);
    const out: Record<string, Float32Array> = {};
    for (const [name, output] of Object.entries(results)) {
      if (output.dims.length !== 1 || output.dims[0] !== rows || output.type !== 'float32') {
        throw new TrainingError(`exported model returns ${name} as ${output.type} [${output.dims.join(', ')}], expected float32 [${rows}]`);
      }
      out[name] = output.data as Float32Array;
    }
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Checks that the graph reproduces the trainer's predictions on every validation row, and that ids
 * outside 1–265 still give finite predictions. Throws, so that nothing is registered, when not.
 */
export async function checkParity(
  model: Uint8Array,
  featureSet: FeatureSet,
  trips: TripTable,
  expected: Float64Array,
  intervals?: { readonly model: IntervalModel; readonly unseen: Uint8Array },
): Promise<ParityReport> {
  const outputs = await runOnnxOutputs(model, featureSet, toInputColumns(trips));
  const actual = outputs[OUTPUT_NAME];
  let maxAbsDiff = 0;
  let worst = -1;
  for (let i = 0; i < trips.rows; i++) {
    // why: a NaN on either side must fail the check, not slip past every comparison.
    const diff = Math.abs(actual[i] - expected[i]);
    if (Number.isNaN(diff) ? maxAbsDiff !== Infinity : diff > maxAbsDiff) {
      maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
      worst = i;
    }
  }
  if (!(maxAbsDiff <= PARITY_TOLERANCE_MIN)) {
    throw new TrainingError(
      `ONNX parity check failed: row ${worst} differs by ${maxAbsDiff} min (onnxruntime ${actual[worst]}, trainer ${expected[worst]}), tolerance ${PARITY_TOLERANCE_MIN}`,
    );
  }
  const probe = allocateInputColumns(4);
  [
    [0, 0],
    [266, 1],
    [-5, 300],
    [100_000, 264],
  ].forEach(([pu, dropoff], i) => {
    probe.PULocationID[i] = BigInt(pu);
    probe.DOLocationID[i] = BigInt(dropoff);
    probe.trip_distance[i] = 2.5;
    probe.pickup_hour[i] = 12n;
    probe.pickup_dow[i] = 2n;
  });
  const outOfRangePredictions = Array.from(await runOnnx(model, featureSet, probe));
  if (!outOfRangePredictions.every(Number.isFinite)) {
    throw new TrainingError(`exported model gives non-finite predictions for unknown zone ids: ${outOfRangePredictions.join(', ')}`);
  }
  if (!intervals) return { rows: trips.rows, maxAbsDiff, outOfRangePredictions };
  return { rows: trips.rows, maxAbsDiff, outOfRangePredictions, intervals: await checkIntervals(model, featureSet, outputs, intervals) };
}

/** Trips at and past every edge the service lets through or the graph clips: the bounds must stay ordered and finite. */
const EDGE_INPUTS: [number, number, number, number, number][] = [
  // PULocationID, DOLocationID, trip_distance, pickup_hour, pickup_dow
  [0, 0, 2.5, 12, 2],
  [266, 1, 0, 0, 0],
  [-5, 300, 200, 23, 6],
  [100_000, 264, 1e6, -1, 9],
  [132, 138, 0, 3, 6],
  [74, 75, -3, 99, -4],
  [1, 1, 60, 17, 4],
  [265, 265, 0.01, 8, 0],
];

async function checkIntervals(
  model: Uint8Array,
  featureSet: FeatureSet,
  outputs: Record<string, Float32Array>,
  intervals: { readonly model: IntervalModel; readonly unseen: Uint8Array },
): Promise<NonNullable<ParityReport['intervals']>> {
  const [p10, p90] = INTERVAL_OUTPUTS;
  if (!outputs[p10] || !outputs[p90]) throw new TrainingError(`exported model lacks the interval outputs ${INTERVAL_OUTPUTS.join(', ')}`);
  const expected = intervalBounds(intervals.model, outputs[OUTPUT_NAME], intervals.unseen);
  let maxAbsDiff = 0;
  for (let i = 0; i < expected.p10.length; i++) {
    const diff = Math.max(Math.abs(outputs[p10][i] - expected.p10[i]), Math.abs(outputs[p90][i] - expected.p90[i]));
    maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
  }
  if (!(maxAbsDiff <= PARITY_TOLERANCE_MIN))
    throw new TrainingError(`ONNX interval parity check failed: bounds differ by ${maxAbsDiff} min, tolerance ${PARITY_TOLERANCE_MIN}`);
  const probe = allocateInputColumns(EDGE_INPUTS.length);
  EDGE_INPUTS.forEach(([pu, dropoff, distance, hour, dow], i) => {
    probe.PULocationID[i] = BigInt(pu);
    probe.DOLocationID[i] = BigInt(dropoff);
    probe.trip_distance[i] = distance;
    probe.pickup_hour[i] = BigInt(hour);
    probe.pickup_dow[i] = BigInt(dow);
  });
  const edge = await runOnnxOutputs(model, featureSet, probe);
  const edgeInputs = EDGE_INPUTS.map((_, i): [number, number, number] => [edge[p10][i], edge[OUTPUT_NAME][i], edge[p90][i]]);
  const bad = edgeInputs.findIndex(([lo, d, hi]) => !(Number.isFinite(lo) && Number.isFinite(hi) && lo <= d && d <= hi));
  if (bad >= 0)
    throw new TrainingError(
      `exported model's interval is not ordered for edge input ${EDGE_INPUTS[bad].join(', ')}: ${edgeInputs[bad].join(' / ')}`,
    );
  return { maxAbsDiff, edgeInputs };
}
