/**
 * The model contract shared by training and serving (docs/model.md).
 *
 * Every model takes raw trip fields as 1-D tensors with a dynamic batch dimension and returns
 * `duration` (float32 minutes). All learned featurization lives inside the ONNX graph, so this
 * module is the only mapping between a trip and the model's inputs, imported by both sides.
 */

export const OUTPUT_NAME = 'duration';

/**
 * Optional outputs of models from version 4 on: the bounds of a calibrated 80 % prediction interval,
 * float32 minutes of shape [N] like `duration`, with `duration_p10 <= duration <= duration_p90` for every
 * input. A model without them is still a valid model (serve `duration` alone).
 */
export const INTERVAL_OUTPUTS = ['duration_p10', 'duration_p90'] as const;
export type IntervalOutput = (typeof INTERVAL_OUTPUTS)[number];

export type InputElementType = 'int64' | 'float32';

export interface InputSpec {
  readonly name: string;
  readonly type: InputElementType;
}

/** The three inputs of the course's model (base feature set). */
export const BASE_INPUTS: readonly InputSpec[] = [
  { name: 'PULocationID', type: 'int64' },
  { name: 'DOLocationID', type: 'int64' },
  { name: 'trip_distance', type: 'float32' },
];

/** The time-aware feature set adds the pickup hour (0–23) and weekday (0 = Monday) in New York local time. */
export const TIME_INPUTS: readonly InputSpec[] = [
  ...BASE_INPUTS,
  { name: 'pickup_hour', type: 'int64' },
  { name: 'pickup_dow', type: 'int64' },
];

export type FeatureSet = 'base' | 'time';

export const INPUTS_BY_FEATURE_SET: Readonly<Record<FeatureSet, readonly InputSpec[]>> = {
  base: BASE_INPUTS,
  time: TIME_INPUTS,
};

/** One trip as the model sees it: raw fields, times already reduced to New York hour and weekday. */
export interface ModelInputRow {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
  pickup_hour: number;
  pickup_dow: number;
}

/**
 * Column-major batch of model inputs, typed exactly as the ONNX graph expects.
 * Training fills it from parquet columns; serving fills it from validated requests.
 */
export interface ModelInputColumns {
  PULocationID: BigInt64Array;
  DOLocationID: BigInt64Array;
  trip_distance: Float32Array;
  pickup_hour: BigInt64Array;
  pickup_dow: BigInt64Array;
}

/**
 * The five columns as views of one ArrayBuffer. why: onnxruntime-node reads each input through N-API,
 * which moves a small typed array's on-heap elements to a backing store of its own first; one buffer
 * is one allocation per request instead of five (docs/performance.md).
 */
export function allocateInputColumns(size: number): ModelInputColumns {
  const buffer = new ArrayBuffer(size * 36);
  return {
    PULocationID: new BigInt64Array(buffer, 0, size),
    DOLocationID: new BigInt64Array(buffer, size * 8, size),
    pickup_hour: new BigInt64Array(buffer, size * 16, size),
    pickup_dow: new BigInt64Array(buffer, size * 24, size),
    trip_distance: new Float32Array(buffer, size * 32, size),
  };
}

/** The five input columns' names, in the contract's order. */
export const INPUT_COLUMN_NAMES = ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow'] as const;

/** One column set holding the first `n` rows of each part, in order (`rows` = the sum of the parts' `n`). */
export function concatenateColumns(
  parts: readonly { readonly columns: ModelInputColumns; readonly n: number }[],
  rows: number,
): ModelInputColumns {
  const columns = allocateInputColumns(rows);
  let offset = 0;
  for (const part of parts) {
    for (const name of INPUT_COLUMN_NAMES) {
      const source = part.columns[name];
      if (part.n === 1) {
        columns[name][offset] = source[0] as never;
      } else {
        (columns[name] as Float32Array).set((source as Float32Array).subarray(0, part.n), offset);
      }
    }
    offset += part.n;
  }
  return columns;
}

export function setInputRow(columns: ModelInputColumns, index: number, row: ModelInputRow): void {
  columns.PULocationID[index] = BigInt(row.PULocationID);
  columns.DOLocationID[index] = BigInt(row.DOLocationID);
  columns.trip_distance[index] = row.trip_distance;
  columns.pickup_hour[index] = BigInt(row.pickup_hour);
  columns.pickup_dow[index] = BigInt(row.pickup_dow);
}
