import { binColumn, type BinnedColumn } from './feature-bins.js';
import { createRandom } from './random.js';

/**
 * A histogram gradient-boosted regression tree ensemble for squared error, grown leaf-wise
 * (LightGBM-style) with early stopping on a validation set.
 *
 * Parity with ONNX: features are float32 columns, every threshold is a float32 value taken from the
 * training data, and a row goes left when `x <= threshold`, exactly what TreeEnsembleRegressor does
 * with BRANCH_LEQ. Leaf values are rounded to float32 because that is how the graph stores them.
 */
export interface GbdtParams {
  readonly learningRate: number;
  readonly maxLeaves: number;
  readonly maxDepth: number;
  readonly minSamplesLeaf: number;
  /** L2 penalty on leaf values. */
  readonly lambda: number;
  readonly maxBins: number;
  readonly maxRounds: number;
  /** Stop when validation RMSE has not improved for this many rounds; keep the best round. */
  readonly earlyStoppingRounds: number;
  /** Fraction of rows each tree sees (seeded), 1 = all. */
  readonly subsample: number;
  readonly seed: number;
}

export interface Tree {
  /** Per node: feature index, or -1 for a leaf. */
  readonly feature: number[];
  readonly threshold: number[];
  readonly left: number[];
  readonly right: number[];
  /** Leaf value (already multiplied by the learning rate), float32-representable. */
  readonly value: number[];
}

export interface GbdtModel {
  readonly baseScore: number;
  readonly trees: Tree[];
  readonly featureCount: number;
}

export interface FitHistory {
  readonly bestRound: number;
  readonly rounds: number;
  readonly validRmse: number[];
}

/** A data set for the booster: one float32 column per feature, a float64 target. */
export interface Matrix {
  readonly columns: readonly Float32Array[];
  readonly rows: number;
}

export function predictGbdt(model: GbdtModel, x: Matrix): Float64Array {
  const out = new Float64Array(x.rows).fill(model.baseScore);
  for (const tree of model.trees) addTree(tree, x, out);
  return out;
}

function addTree(tree: Tree, x: Matrix, out: Float64Array): void {
  for (let i = 0; i < x.rows; i++) {
    let node = 0;
    while (tree.feature[node] >= 0) {
      node = x.columns[tree.feature[node]][i] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
    }
    out[i] += tree.value[node];
  }
}

export function fitGbdt(
  train: Matrix,
  y: Float64Array,
  valid: { x: Matrix; y: Float64Array },
  params: GbdtParams,
  onRound: (round: number, validRmse: number) => void = () => {},
  /** Per training row, how much its squared error counts (default: all 1, the unweighted fit). */
  weights?: Float64Array,
): { model: GbdtModel; history: FitHistory } {
  if (params.maxBins < 2 || params.maxBins > BINS) throw new RangeError(`maxBins must be 2–${BINS}, got ${params.maxBins}`);
  if (train.rows === 0 || valid.x.rows === 0) throw new RangeError('fitGbdt needs at least one training and one validation row');
  const featureCount = train.columns.length;
  const binned = train.columns.map((column) => binColumn(column, params.maxBins));
  const baseScore = Math.fround(mean(y));
  const pred = new Float64Array(train.rows).fill(baseScore);
  const validPred = new Float64Array(valid.x.rows).fill(baseScore);
  const grad = new Float64Array(train.rows);
  const random = createRandom(params.seed);
  const trees: Tree[] = [];
  const validRmse: number[] = [];
  let best = { rmse: Infinity, round: -1 };

  for (let round = 0; round < params.maxRounds; round++) {
    for (let i = 0; i < train.rows; i++) grad[i] = weights ? weights[i] * (pred[i] - y[i]) : pred[i] - y[i];
    const rows = sampleRows(train.rows, params.subsample, random);
    const tree = growTree(binned, grad, rows, params, weights);
    addTree(tree, train, pred);
    addTree(tree, valid.x, validPred);
    trees.push(tree);
    const rmse = rootMeanSquare(validPred, valid.y);
    validRmse.push(rmse);
    onRound(round, rmse);
    if (rmse < best.rmse) best = { rmse, round };
    else if (round - best.round >= params.earlyStoppingRounds) break;
  }
  trees.length = best.round + 1;
  return {
    model: { baseScore, trees, featureCount },
    history: { bestRound: best.round, rounds: validRmse.length, validRmse },
  };
}

function sampleRows(rows: number, fraction: number, random: () => number): Uint32Array {
  if (fraction >= 1) return Uint32Array.from({ length: rows }, (_, i) => i);
  const picked: number[] = [];
  for (let i = 0; i < rows; i++) if (random() < fraction) picked.push(i);
  return Uint32Array.from(picked);
}

/** Histogram slots per feature: bins are stored in a Uint8Array. */
const BINS = 256;

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  sumGrad: number;
  /** Sum of the rows' weights (the hessian of squared error): the row count when unweighted. */
  sumHess: number;
  /** Gradient sums, counts and weight sums per (feature, bin); unweighted, histHess is histCount itself. */
  histGrad: Float64Array;
  histCount: Float64Array;
  histHess: Float64Array;
  split?: { feature: number; bin: number; gain: number };
}

function growTree(
  binned: readonly BinnedColumn[],
  grad: Float64Array,
  rows: Uint32Array,
  params: GbdtParams,
  weights: Float64Array | undefined,
): Tree {
  const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const addNode = () => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    return tree.feature.length - 1;
  };
  const scratch = new Uint32Array(rows.length);
  const root = makeLeaf(addNode(), 0, rows.length, 0, binned, grad, rows, weights);
  let sumGrad = 0;
  for (let k = 0; k < rows.length; k++) sumGrad += grad[rows[k]];
  root.sumGrad = sumGrad;
  root.sumHess = weights ? sumRange(weights, rows, 0, rows.length) : rows.length;
  findSplit(root, binned, params);
  const leaves: Leaf[] = [root];

  while (leaves.length < params.maxLeaves) {
    let bestIndex = -1;
    for (let l = 0; l < leaves.length; l++) {
      const s = leaves[l].split;
      if (s && (bestIndex < 0 || s.gain > leaves[bestIndex].split!.gain)) bestIndex = l;
    }
    if (bestIndex < 0) break;
    const parent = leaves[bestIndex];
    const { feature, bin } = parent.split!;
    const bins = binned[feature].bins;
    // why: a stable partition keeps row order, so the float sums (and the model) are deterministic.
    let lo = parent.start;
    let hiCount = 0;
    for (let k = parent.start; k < parent.end; k++) {
      const i = rows[k];
      if (bins[i] <= bin) rows[lo++] = i;
      else scratch[hiCount++] = i;
    }
    rows.set(scratch.subarray(0, hiCount), lo);

    tree.feature[parent.node] = feature;
    tree.threshold[parent.node] = binned[feature].cuts[bin];
    const leftNode = addNode();
    const rightNode = addNode();
    tree.left[parent.node] = leftNode;
    tree.right[parent.node] = rightNode;

    const leftSize = lo - parent.start;
    const rightSize = parent.end - lo;
    // why: histogram subtraction; scan only the smaller child, derive the other from the parent.
    const smallIsLeft = leftSize <= rightSize;
    const small = smallIsLeft
      ? makeLeaf(leftNode, parent.start, lo, parent.depth + 1, binned, grad, rows, weights)
      : makeLeaf(rightNode, lo, parent.end, parent.depth + 1, binned, grad, rows, weights);
    const large: Leaf = {
      node: smallIsLeft ? rightNode : leftNode,
      start: smallIsLeft ? lo : parent.start,
      end: smallIsLeft ? parent.end : lo,
      depth: parent.depth + 1,
      sumGrad: 0,
      sumHess: 0,
      histGrad: parent.histGrad,
      histCount: parent.histCount,
      histHess: parent.histHess,
    };
    for (let h = 0; h < large.histGrad.length; h++) {
      large.histGrad[h] -= small.histGrad[h];
      large.histCount[h] -= small.histCount[h];
    }
    if (weights) for (let h = 0; h < large.histHess.length; h++) large.histHess[h] -= small.histHess[h];
    small.sumGrad = sumRange(grad, rows, small.start, small.end);
    large.sumGrad = parent.sumGrad - small.sumGrad;
    small.sumHess = weights ? sumRange(weights, rows, small.start, small.end) : small.end - small.start;
    large.sumHess = weights ? parent.sumHess - small.sumHess : large.end - large.start;
    findSplit(small, binned, params);
    findSplit(large, binned, params);
    leaves.splice(bestIndex, 1, small, large);
  }

  for (const leaf of leaves) {
    tree.value[leaf.node] = Math.fround((-leaf.sumGrad / (leaf.sumHess + params.lambda)) * params.learningRate);
  }
  return tree;
}

function sumRange(grad: Float64Array, rows: Uint32Array, start: number, end: number): number {
  let s = 0;
  for (let k = start; k < end; k++) s += grad[rows[k]];
  return s;
}

function makeLeaf(
  node: number,
  start: number,
  end: number,
  depth: number,
  binned: readonly BinnedColumn[],
  grad: Float64Array,
  rows: Uint32Array,
  weights: Float64Array | undefined,
): Leaf {
  const histGrad = new Float64Array(binned.length * BINS);
  const histCount = new Float64Array(binned.length * BINS);
  const histHess = weights ? new Float64Array(binned.length * BINS) : histCount;
  for (let f = 0; f < binned.length; f++) {
    const bins = binned[f].bins;
    const base = f * BINS;
    for (let k = start; k < end; k++) {
      const i = rows[k];
      const h = base + bins[i];
      histGrad[h] += grad[i];
      histCount[h]++;
      if (weights) histHess[h] += weights[i];
    }
  }
  return { node, start, end, depth, sumGrad: 0, sumHess: 0, histGrad, histCount, histHess };
}

function findSplit(leaf: Leaf, binned: readonly BinnedColumn[], params: GbdtParams): void {
  const count = leaf.end - leaf.start;
  leaf.split = undefined;
  if (leaf.depth >= params.maxDepth || count < 2 * params.minSamplesLeaf) return;
  const parentScore = (leaf.sumGrad * leaf.sumGrad) / (leaf.sumHess + params.lambda);
  let best = { feature: -1, bin: -1, gain: 1e-9 };
  for (let f = 0; f < binned.length; f++) {
    const base = f * BINS;
    let gl = 0;
    let nl = 0;
    let hl = 0;
    for (let b = 0; b < binned[f].cuts.length - 1; b++) {
      gl += leaf.histGrad[base + b];
      nl += leaf.histCount[base + b];
      hl += leaf.histHess[base + b];
      const nr = count - nl;
      if (nl < params.minSamplesLeaf) continue;
      if (nr < params.minSamplesLeaf) break;
      const gr = leaf.sumGrad - gl;
      const gain = (gl * gl) / (hl + params.lambda) + (gr * gr) / (leaf.sumHess - hl + params.lambda) - parentScore;
      if (gain > best.gain) best = { feature: f, bin: b, gain };
    }
  }
  if (best.feature >= 0) leaf.split = best;
}

function mean(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length > 0 ? s / values.length : 0;
}

export function rootMeanSquare(pred: Float64Array | Float32Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (pred[i] - y[i]) ** 2;
  return Math.sqrt(s / Math.max(1, y.length));
}
