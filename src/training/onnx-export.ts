import onnxProto from 'onnx-proto';
import { INPUTS_BY_FEATURE_SET, INTERVAL_OUTPUTS, OUTPUT_NAME, type InputSpec } from '../features/model-contract.js';
import { transform, type Featurizer } from './featurizer.js';
import type { GbdtModel } from './gbdt.js';
import type { IntervalModel, IntervalSegment } from './intervals.js';
import { MAX_ZONE_ID } from '../data/trip-filter.js';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

/**
 * Opsets of the exported graph. ai.onnx 17 (Gather, Clip on int64) and ai.onnx.ml 3 (TreeEnsembleRegressor-3)
 * are served by every current ONNX runtime; IR version 8 is what onnx 1.12, the release of opset 17, writes.
 */
export const OPSET = 17;
export const ML_OPSET = 3;
export const IR_VERSION = 8;
/** The onnx release that introduced OPSET: what MLmodel records as onnx_version. */
export const ONNX_VERSION = '1.12.0';

const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

/**
 * Zone ids index dense lookup tables. Ids outside 0–MAX_ZONE_ID are clipped to the extra last row,
 * which holds what the trainer gives any id it never saw (the back-off), so every int64 is a valid input.
 */
const UNSEEN_ZONE_ROW = MAX_ZONE_ID + 1;
const ZONE_ROWS = UNSEEN_ZONE_ROW + 1;
/** An id no table holds: the trainer's features for it are the back-off the unseen row stores. */
const UNSEEN_ZONE_ID = -1;

/** Which featurizer columns each lookup table holds, in the order the graph concatenates them. */
const PU_COLUMNS = ['pu_encoding', 'pu_x', 'pu_y'];
const DO_COLUMNS = ['do_encoding', 'do_x', 'do_y'];
const PAIR_COLUMNS = ['pair_encoding', 'pair_trip_count', 'pair_mean_distance', 'zone_distance'];

/**
 * Builds the whole model as one ONNX graph: raw trip fields in, `duration` out. Nothing in it
 * depends on the clock or on map iteration order, so the same model gives the same bytes.
 *
 * why this shape: onnxruntime pays about a microsecond per node per run, whatever the batch size, and the
 * service runs one trip at a time (docs/performance.md). Every learned per-zone and per-pair value (encodings, counts,
 * centroids, centroid distance) is therefore precomputed by the featurizer itself into three dense tables
 * read with one Gather each: 16 nodes for the time-aware model instead of 37 with one LabelEncoder per feature.
 */
export function exportOnnx(featurizer: Featurizer, gbdt: GbdtModel, docString: string, intervals?: IntervalModel): Uint8Array {
  const inputs = INPUTS_BY_FEATURE_SET[featurizer.featureSet];
  const tables = lookupTables(featurizer);
  const nodes: INodeProto[] = [
    node('Clip', 'pu_row', ['PULocationID', 'zone_min', 'zone_unseen'], ['pu_row']),
    node('Clip', 'do_row', ['DOLocationID', 'zone_min', 'zone_unseen'], ['do_row']),
    node('Gather', 'pu_features', ['pu_table', 'pu_row'], ['pu_features']),
    node('Gather', 'do_features', ['do_table', 'do_row'], ['do_features']),
    node('Mul', 'pair_row_high', ['pu_row', 'zone_rows'], ['pu_scaled']),
    node('Add', 'pair_row', ['pu_scaled', 'do_row'], ['pair_row']),
    node('Gather', 'pair_features', ['pair_table', 'pair_row'], ['pair_features']),
    node('Unsqueeze', 'trip_distance_column', ['trip_distance', 'axis_1'], ['trip_distance_2d']),
    node('Clip', 'clip_distance', ['trip_distance_2d', 'distance_min', 'distance_max'], ['trip_distance_clipped']),
  ];
  const blocks = ['pu_features', 'do_features', 'pair_features', 'trip_distance_clipped'];
  const graphColumns = [...tables.pu.columns, ...tables.do.columns, ...tables.pair.columns, 'trip_distance_clipped'];
  if (featurizer.featureSet === 'time') {
    nodes.push(
      node('Unsqueeze', 'pickup_hour_column', ['pickup_hour', 'axis_1'], ['pickup_hour_2d']),
      node('Unsqueeze', 'pickup_dow_column', ['pickup_dow', 'axis_1'], ['pickup_dow_2d']),
      node('Concat', 'pickup_time', ['pickup_hour_2d', 'pickup_dow_2d'], ['pickup_time'], [intAttr('axis', 1)]),
      node('Cast', 'pickup_time_float', ['pickup_time'], ['pickup_time_float'], [intAttr('to', DataType.FLOAT)]),
    );
    blocks.push('pickup_time_float');
    graphColumns.push('pickup_hour', 'pickup_dow');
  }
  // why: the trees were fitted on the featurizer's column order; map each of their feature ids to the graph's.
  const graphIndex = featurizer.featureNames.map((name) => {
    const i = graphColumns.indexOf(name);
    if (i < 0) throw new Error(`feature ${name} has no column in the exported graph`);
    return i;
  });
  nodes.push(
    node('Concat', 'features', blocks, ['features'], [intAttr('axis', 1)]),
    treeEnsemble(gbdt, graphIndex),
    node('Reshape', 'flatten', ['duration_2d', 'batch_shape'], [OUTPUT_NAME]),
  );
  const outputs = [OUTPUT_NAME];
  if (intervals) {
    const [p10, p90] = INTERVAL_OUTPUTS;
    // why: 5 small nodes, each costs every run about a microsecond. One tree picks the segment's offsets from the
    // prediction and the pair's trip count (0 = unseen) as three targets [lower, upper, neutral]; adding them to
    // (or, on the multiplicative scale, multiplying them by) the duration gives [p10, p90, d], and a row's min and
    // max of those hold p10 <= duration <= p90 whatever the input.
    nodes.push(
      node('Concat', 'interval_features', ['features', 'duration_2d'], ['interval_features'], [intAttr('axis', 1)]),
      intervalTree(intervals, graphColumns.indexOf('pair_trip_count'), graphColumns.length),
      node(intervals.scale === 'additive' ? 'Add' : 'Mul', 'interval_bounds', ['duration_2d', 'interval_offsets'], ['interval_bounds']),
      node('ReduceMin', 'clamp_p10', ['interval_bounds'], [p10], [intsAttr('axes', [1]), intAttr('keepdims', 0)]),
      node('ReduceMax', 'clamp_p90', ['interval_bounds'], [p90], [intsAttr('axes', [1]), intAttr('keepdims', 0)]),
    );
    outputs.push(p10, p90);
  }

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'taxi-ride-duration-trainer',
    producerVersion: '1',
    docString,
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: 'ai.onnx.ml', version: ML_OPSET },
    ],
    graph: {
      name: 'taxi_ride_duration',
      node: nodes,
      input: inputs.map(valueInfo),
      output: outputs.map((name) => valueInfo({ name, type: 'float32' })),
      initializer: [
        floatTable('pu_table', tables.pu),
        floatTable('do_table', tables.do),
        floatTable('pair_table', tables.pair),
        tensor('zone_min', DataType.INT64, [], { int64Data: [0] }),
        tensor('zone_unseen', DataType.INT64, [], { int64Data: [UNSEEN_ZONE_ROW] }),
        tensor('zone_rows', DataType.INT64, [], { int64Data: [ZONE_ROWS] }),
        tensor('distance_min', DataType.FLOAT, [], { floatData: [0] }),
        tensor('distance_max', DataType.FLOAT, [], { floatData: [featurizer.maxDistance] }),
        tensor('axis_1', DataType.INT64, [1], { int64Data: [1] }),
        tensor('batch_shape', DataType.INT64, [1], { int64Data: [-1] }),
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

interface LookupTable {
  /** Featurizer feature names, one per table column. */
  readonly columns: string[];
  readonly rows: number;
  /** Row-major float32 values. */
  readonly values: Float32Array;
}

/**
 * The per-zone and per-pair tables, filled by running the featurizer's own `transform` over every zone
 * row and every pair of rows: the graph then looks up exactly what the trainer computed, by construction.
 */
function lookupTables(featurizer: Featurizer): { pu: LookupTable; do: LookupTable; pair: LookupTable } {
  const zoneId = (row: number) => (row === UNSEEN_ZONE_ROW ? UNSEEN_ZONE_ID : row);
  const rows = ZONE_ROWS * ZONE_ROWS;
  const pu = new Int32Array(rows);
  const dropoff = new Int32Array(rows);
  for (let a = 0; a < ZONE_ROWS; a++) {
    for (let b = 0; b < ZONE_ROWS; b++) {
      pu[a * ZONE_ROWS + b] = zoneId(a);
      dropoff[a * ZONE_ROWS + b] = zoneId(b);
    }
  }
  const zeros = new Int32Array(rows);
  const all = transform(featurizer, {
    rows,
    puLocationId: pu,
    doLocationId: dropoff,
    tripDistance: new Float32Array(rows),
    pickupHour: zeros,
    pickupDow: zeros,
  });
  const table = (names: string[], tableRows: number, rowOf: (r: number) => number): LookupTable => {
    const columns = names.filter((name) => featurizer.featureNames.includes(name));
    const sources = columns.map((name) => all.columns[featurizer.featureNames.indexOf(name)]);
    const values = new Float32Array(tableRows * columns.length);
    for (let r = 0; r < tableRows; r++) {
      for (let c = 0; c < columns.length; c++) values[r * columns.length + c] = sources[c][rowOf(r)];
    }
    return { columns, rows: tableRows, values };
  };
  return {
    // why: a pickup zone's own features do not depend on the dropoff, so any column of the grid serves.
    pu: table(PU_COLUMNS, ZONE_ROWS, (r) => r * ZONE_ROWS),
    do: table(DO_COLUMNS, ZONE_ROWS, (r) => r),
    pair: table(PAIR_COLUMNS, rows, (r) => r),
  };
}

function floatTable(name: string, table: LookupTable) {
  return { name, dataType: DataType.FLOAT, dims: [table.rows, table.columns.length], rawData: floatBytes(table.values) };
}

/** Little-endian float32 bytes, as TensorProto.raw_data stores them on every platform. */
function floatBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

function treeEnsemble(gbdt: GbdtModel, graphIndex: readonly number[]): INodeProto {
  const n = { treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], values: [] as number[] };
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const target = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  gbdt.trees.forEach((tree, t) => {
    for (let id = 0; id < tree.feature.length; id++) {
      const leaf = tree.feature[id] < 0;
      n.treeIds.push(t);
      n.nodeIds.push(id);
      n.featureIds.push(leaf ? 0 : graphIndex[tree.feature[id]]);
      n.values.push(leaf ? 0 : tree.threshold[id]);
      // why: the trainer sends a row left when x <= threshold; BRANCH_LEQ is that same test.
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      trueIds.push(leaf ? 0 : tree.left[id]);
      falseIds.push(leaf ? 0 : tree.right[id]);
      if (leaf) {
        target.treeIds.push(t);
        target.nodeIds.push(id);
        target.weights.push(tree.value[id]);
      }
    }
  });
  return node(
    'TreeEnsembleRegressor',
    'trees',
    ['features'],
    ['duration_2d'],
    [
      intAttr('n_targets', 1),
      stringAttr('aggregate_function', 'SUM'),
      stringAttr('post_transform', 'NONE'),
      floatsAttr('base_values', [gbdt.baseScore]),
      intsAttr('nodes_treeids', n.treeIds),
      intsAttr('nodes_nodeids', n.nodeIds),
      intsAttr('nodes_featureids', n.featureIds),
      floatsAttr('nodes_values', n.values),
      stringsAttr('nodes_modes', modes),
      intsAttr('nodes_truenodeids', trueIds),
      intsAttr('nodes_falsenodeids', falseIds),
      intsAttr('target_treeids', target.treeIds),
      intsAttr('target_nodeids', target.nodeIds),
      intsAttr(
        'target_ids',
        target.treeIds.map(() => 0),
      ),
      floatsAttr('target_weights', target.weights),
    ],
    'ai.onnx.ml',
  );
}

/**
 * The interval segments as one decision tree with three targets (lower offset, upper offset, and the neutral 0 or 1 for
 * the duration column, a leaf weight: with base_values [0, 0, 1] instead, onnxruntime-node's bounds failed the parity
 * check): the root splits on the
 * pair's trip count (<= 0: unseen), each side then bisects its predicted-duration bins with the same
 * `pred <= edge` test intervals.ts uses.
 */
function intervalTree(intervals: IntervalModel, countFeature: number, predFeature: number): INodeProto {
  if (countFeature < 0) throw new Error('the exported graph has no pair_trip_count column for the interval segments');
  const n = {
    nodeIds: [] as number[],
    featureIds: [] as number[],
    values: [] as number[],
    modes: [] as string[],
    trueIds: [] as number[],
    falseIds: [] as number[],
  };
  const target = { nodeIds: [] as number[], ids: [] as number[], weights: [] as number[] };
  const add = (feature: number, value: number, mode: string) => {
    const id = n.nodeIds.length;
    n.nodeIds.push(id);
    n.featureIds.push(feature);
    n.values.push(value);
    n.modes.push(mode);
    n.trueIds.push(0);
    n.falseIds.push(0);
    return id;
  };
  const neutral = intervals.scale === 'additive' ? 0 : 1;
  const bins = (segment: IntervalSegment, lo: number, hi: number): number => {
    if (lo === hi) {
      const id = add(0, 0, 'LEAF');
      target.nodeIds.push(id, id);
      target.ids.push(0, 1);
      target.weights.push(segment.lower[lo], segment.upper[lo]);
      if (neutral !== 0) {
        target.nodeIds.push(id);
        target.ids.push(2);
        target.weights.push(neutral);
      }
      return id;
    }
    const mid = (lo + hi) >> 1;
    const id = add(predFeature, segment.edges[mid], 'BRANCH_LEQ');
    n.trueIds[id] = bins(segment, lo, mid);
    n.falseIds[id] = bins(segment, mid + 1, hi);
    return id;
  };
  const root = add(countFeature, 0, 'BRANCH_LEQ');
  n.trueIds[root] = bins(intervals.unseen, 0, intervals.unseen.lower.length - 1);
  n.falseIds[root] = bins(intervals.seen, 0, intervals.seen.lower.length - 1);
  return node(
    'TreeEnsembleRegressor',
    'interval_offsets',
    ['interval_features'],
    ['interval_offsets'],
    [
      intAttr('n_targets', 3),
      stringAttr('aggregate_function', 'SUM'),
      stringAttr('post_transform', 'NONE'),
      floatsAttr('base_values', [0, 0, 0]),
      intsAttr(
        'nodes_treeids',
        n.nodeIds.map(() => 0),
      ),
      intsAttr('nodes_nodeids', n.nodeIds),
      intsAttr('nodes_featureids', n.featureIds),
      floatsAttr('nodes_values', n.values),
      stringsAttr('nodes_modes', n.modes),
      intsAttr('nodes_truenodeids', n.trueIds),
      intsAttr('nodes_falsenodeids', n.falseIds),
      intsAttr(
        'target_treeids',
        target.nodeIds.map(() => 0),
      ),
      intsAttr('target_nodeids', target.nodeIds),
      intsAttr('target_ids', target.ids),
      floatsAttr('target_weights', target.weights),
    ],
    'ai.onnx.ml',
  );
}

function node(opType: string, name: string, input: string[], output: string[], attribute: IAttributeProto[] = [], domain = ''): INodeProto {
  return { opType, name, input, output, attribute, domain };
}

const intAttr = (name: string, i: number): IAttributeProto => ({ name, type: AttributeType.INT, i });
const intsAttr = (name: string, ints: number[]): IAttributeProto => ({ name, type: AttributeType.INTS, ints });
const floatsAttr = (name: string, floats: number[]): IAttributeProto => ({ name, type: AttributeType.FLOATS, floats });
const stringAttr = (name: string, s: string): IAttributeProto => ({ name, type: AttributeType.STRING, s: Buffer.from(s) });
const stringsAttr = (name: string, strings: string[]): IAttributeProto => ({
  name,
  type: AttributeType.STRINGS,
  strings: strings.map((s) => Buffer.from(s)),
});

function tensor(name: string, dataType: number, dims: number[], data: { int64Data?: number[]; floatData?: number[] }) {
  return { name, dataType, dims, ...data };
}

/** A 1-D tensor whose only dimension is the dynamic batch size. */
function valueInfo(spec: InputSpec) {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.type === 'int64' ? DataType.INT64 : DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }] },
      },
    },
  };
}
