import * as ort from 'onnxruntime-node';
import { allocateInputColumns, INPUTS_BY_FEATURE_SET, OUTPUT_NAME, type FeatureSet, type ModelInputColumns } from '../features/model-contract.js';
import { TrainingError } from './errors.js';
import type { TripTable } from './trip-filter.js';

/** Largest |ONNX − trainer| prediction difference accepted, in minutes. */
export const PARITY_TOLERANCE_MIN = 1e-3;

export interface ParityReport {
  readonly rows: number;
  readonly maxAbsDiff: number;
  /** Prediction for trips whose ids are outside 1–265 or never seen: proves the back-off is finite. */
  readonly outOfRangePredictions: number[];
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

/** Runs the exported graph with onnxruntime-node, the runtime the service uses. */
export async function runOnnx(model: Uint8Array, featureSet: FeatureSet, columns: ModelInputColumns): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    const rows = columns.trip_distance.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of INPUTS_BY_FEATURE_SET[featureSet]) {
      const data = columns[spec.name as keyof ModelInputColumns];
      feeds[spec.name] = new ort.Tensor(spec.type, data, [rows]);
    }
    const output = (await session.run(feeds))[OUTPUT_NAME];
    if (output.dims.length !== 1 || output.dims[0] !== rows || output.type !== 'float32') {
      throw new TrainingError(`exported model returns ${output.type} [${output.dims.join(', ')}], expected float32 [${rows}]`);
    }
    return output.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * Checks that the graph reproduces the trainer's predictions on every validation row, and that ids
 * outside 1–265 still give finite predictions. Throws, so that nothing is registered, when not.
 */
export async function checkParity(model: Uint8Array, featureSet: FeatureSet, trips: TripTable, expected: Float64Array): Promise<ParityReport> {
  const actual = await runOnnx(model, featureSet, toInputColumns(trips));
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
  [[0, 0], [266, 1], [-5, 300], [100_000, 264]].forEach(([pu, dropoff], i) => {
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
  return { rows: trips.rows, maxAbsDiff, outOfRangePredictions };
}
