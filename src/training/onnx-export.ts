import onnxProto from 'onnx-proto';
import { INPUTS_BY_FEATURE_SET, OUTPUT_NAME, type InputSpec } from '../features/model-contract.js';
import { MAX_ZONE_DISTANCE, PAIR_KEY_MULTIPLIER, UNKNOWN_DO_COORD, UNKNOWN_PU_COORD, type Featurizer } from './featurizer.js';
import type { GbdtModel } from './gbdt.js';
import type { EncodingTable } from './target-encoding.js';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

/**
 * Opsets of the exported graph. ai.onnx 17 and ai.onnx.ml 3 (LabelEncoder-2, TreeEnsembleRegressor-3)
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
 * Builds the whole model as one ONNX graph: raw trip fields in, `duration` out. Nothing in it
 * depends on the clock or on map iteration order, so the same model gives the same bytes.
 */
export function exportOnnx(featurizer: Featurizer, gbdt: GbdtModel, docString: string): Uint8Array {
  const inputs = INPUTS_BY_FEATURE_SET[featurizer.featureSet];
  const nodes: INodeProto[] = [
    labelEncoder('encode_pu', 'PULocationID', 'pu_encoding', featurizer.pu, 'value'),
    labelEncoder('encode_do', 'DOLocationID', 'do_encoding', featurizer.do, 'value'),
    node('Mul', 'pair_key_high', ['PULocationID', 'pair_key_multiplier'], ['pu_scaled']),
    node('Add', 'pair_key', ['pu_scaled', 'DOLocationID'], ['pair_key']),
    labelEncoder('encode_pair', 'pair_key', 'pair_encoding', featurizer.pair, 'value'),
    labelEncoder('count_pair', 'pair_key', 'pair_trip_count', featurizer.pair, 'count'),
    labelEncoder('pair_distance', 'pair_key', 'pair_mean_distance', featurizer.pairDistance, 'value'),
    node('Clip', 'clip_distance', ['trip_distance', 'distance_min', 'distance_max'], ['trip_distance_clipped']),
  ];
  const featureColumns = ['pu_encoding', 'do_encoding', 'pair_encoding', 'pair_trip_count', 'pair_mean_distance', 'trip_distance_clipped'];
  if (featurizer.geometryFeatures !== 'none') {
    const g = featurizer.geometry;
    nodes.push(
      lookup('pu_x', 'PULocationID', 'pu_x', g.ids, g.x, UNKNOWN_PU_COORD),
      lookup('pu_y', 'PULocationID', 'pu_y', g.ids, g.y, UNKNOWN_PU_COORD),
      lookup('do_x', 'DOLocationID', 'do_x', g.ids, g.x, UNKNOWN_DO_COORD),
      lookup('do_y', 'DOLocationID', 'do_y', g.ids, g.y, UNKNOWN_DO_COORD),
      // why: one float32 op per node, in the order featurizer.ts rounds them, keeps the trainer exact.
      node('Sub', 'dx', ['pu_x', 'do_x'], ['dx']),
      node('Sub', 'dy', ['pu_y', 'do_y'], ['dy']),
      node('Mul', 'dx2', ['dx', 'dx'], ['dx2']),
      node('Mul', 'dy2', ['dy', 'dy'], ['dy2']),
      node('Add', 'd2', ['dx2', 'dy2'], ['d2']),
      node('Sqrt', 'd', ['d2'], ['zone_distance_raw']),
      node('Clip', 'clip_zone_distance', ['zone_distance_raw', 'distance_min', 'zone_distance_max'], ['zone_distance']),
    );
    featureColumns.push('zone_distance');
    if (featurizer.geometryFeatures === 'coordinates') featureColumns.push('pu_x', 'pu_y', 'do_x', 'do_y');
  }
  if (featurizer.featureSet === 'time') {
    for (const name of ['pickup_hour', 'pickup_dow']) {
      nodes.push(node('Cast', `cast_${name}`, [name], [`${name}_float`], [intAttr('to', DataType.FLOAT)]));
      featureColumns.push(`${name}_float`);
    }
  }
  for (const column of featureColumns) nodes.push(node('Unsqueeze', `column_${column}`, [column, 'axis_1'], [`${column}_2d`]));
  nodes.push(
    node('Concat', 'features', featureColumns.map((c) => `${c}_2d`), ['features'], [intAttr('axis', 1)]),
    treeEnsemble(gbdt),
    node('Reshape', 'flatten', ['duration_2d', 'batch_shape'], [OUTPUT_NAME]),
  );

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
      output: [valueInfo({ name: OUTPUT_NAME, type: 'float32' })],
      initializer: [
        tensor('pair_key_multiplier', DataType.INT64, [], { int64Data: [PAIR_KEY_MULTIPLIER] }),
        tensor('distance_min', DataType.FLOAT, [], { floatData: [0] }),
        tensor('distance_max', DataType.FLOAT, [], { floatData: [featurizer.maxDistance] }),
        tensor('zone_distance_max', DataType.FLOAT, [], { floatData: [MAX_ZONE_DISTANCE] }),
        tensor('axis_1', DataType.INT64, [1], { int64Data: [1] }),
        tensor('batch_shape', DataType.INT64, [1], { int64Data: [-1] }),
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function treeEnsemble(gbdt: GbdtModel): INodeProto {
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
      n.featureIds.push(leaf ? 0 : tree.feature[id]);
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
      intsAttr('target_ids', target.treeIds.map(() => 0)),
      floatsAttr('target_weights', target.weights),
    ],
    'ai.onnx.ml',
  );
}

/** int64 key → float; unseen keys get the table's default (value) or 0 (count): the back-off. */
function labelEncoder(name: string, input: string, output: string, table: EncodingTable, what: 'value' | 'count'): INodeProto {
  return what === 'value'
    ? lookup(name, input, output, table.keys, table.values, table.defaultValue)
    : lookup(name, input, output, table.keys, table.counts, 0);
}

function lookup(name: string, input: string, output: string, keys: number[], values: number[], defaultValue: number): INodeProto {
  return node(
    'LabelEncoder',
    name,
    [input],
    [output],
    [intsAttr('keys_int64s', keys), floatsAttr('values_floats', values), floatAttr('default_float', defaultValue)],
    'ai.onnx.ml',
  );
}

function node(opType: string, name: string, input: string[], output: string[], attribute: IAttributeProto[] = [], domain = ''): INodeProto {
  return { opType, name, input, output, attribute, domain };
}

const intAttr = (name: string, i: number): IAttributeProto => ({ name, type: AttributeType.INT, i });
const floatAttr = (name: string, f: number): IAttributeProto => ({ name, type: AttributeType.FLOAT, f });
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
