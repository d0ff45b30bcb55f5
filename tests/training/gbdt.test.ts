import { describe, expect, test } from 'vitest';
import { fitGbdt, predictGbdt, rootMeanSquare, type GbdtParams, type Matrix } from '../../src/training/gbdt.js';
import { createRandom } from '../../src/training/random.js';

const params: GbdtParams = {
  learningRate: 0.1,
  maxLeaves: 15,
  maxDepth: 8,
  minSamplesLeaf: 5,
  lambda: 1,
  maxBins: 64,
  maxRounds: 300,
  earlyStoppingRounds: 20,
  subsample: 0.8,
  seed: 7,
};

function dataset(rows: number, seed: number): { x: Matrix; y: Float64Array } {
  const random = createRandom(seed);
  const a = Float32Array.from({ length: rows }, () => random() * 10);
  const b = Float32Array.from({ length: rows }, () => Math.floor(random() * 4));
  const noise = Float32Array.from({ length: rows }, () => random());
  const y = Float64Array.from({ length: rows }, (_, i) => (a[i] > 5 ? 20 : 5) + a[i] * b[i]);
  return { x: { rows, columns: [a, b, noise] }, y };
}

describe('histogram gradient boosting', () => {
  test('When fitting a step plus an interaction, then held-out error is a small fraction of the spread', () => {
    const train = dataset(3000, 1);
    const valid = dataset(1000, 2);

    const { model } = fitGbdt(train.x, train.y, valid, params);

    const baseline = rootMeanSquare(new Float64Array(1000).fill(model.baseScore), valid.y);
    expect(rootMeanSquare(predictGbdt(model, valid.x), valid.y)).toBeLessThan(0.1 * baseline);
  });

  test('When validation error stops improving, then boosting stops early and keeps the best round', () => {
    const train = dataset(500, 3);
    const valid = dataset(200, 4);

    const { model, history } = fitGbdt(train.x, train.y, valid, { ...params, learningRate: 0.5, maxRounds: 1000 });

    expect(history.rounds).toBeLessThan(1000);
    expect(model.trees).toHaveLength(history.bestRound + 1);
    expect(history.validRmse[history.bestRound]).toBe(Math.min(...history.validRmse));
  });

  test('When every threshold and leaf is inspected, then they are float32 values and thresholds come from the data', () => {
    const train = dataset(800, 5);

    const { model } = fitGbdt(train.x, train.y, dataset(200, 6), params);

    const dataValues = train.x.columns.map((c) => new Set(c));
    for (const tree of model.trees) {
      tree.feature.forEach((f, node) => {
        if (f < 0) expect(Math.fround(tree.value[node])).toBe(tree.value[node]);
        else expect(dataValues[f].has(tree.threshold[node])).toBe(true);
      });
    }
  });

  test('When fitted twice with the same seed, then the trees are identical; with another seed they differ', () => {
    const train = dataset(800, 8);
    const valid = dataset(200, 9);

    const first = fitGbdt(train.x, train.y, valid, params).model;
    const again = fitGbdt(train.x, train.y, valid, params).model;
    const other = fitGbdt(train.x, train.y, valid, { ...params, seed: 8 }).model;

    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  test('When every row weighs 1, then the weighted fit is the unweighted one', () => {
    const train = dataset(1000, 5);
    const valid = dataset(300, 6);

    const plain = fitGbdt(train.x, train.y, valid, params).model;
    const weighted = fitGbdt(train.x, train.y, valid, params, undefined, new Float64Array(1000).fill(1)).model;

    expect(weighted).toEqual(plain);
  });

  test('When late rows weigh more and their target is higher, then predictions move toward them', () => {
    const train = dataset(2000, 7);
    const valid = dataset(300, 8);
    // why: the same inputs with a target 3 higher in the second half: only the weights tell the halves apart.
    const shifted = Float64Array.from(train.y, (y, i) => (i >= 1000 ? y + 3 : y));
    const weights = Float64Array.from(train.y, (_, i) => (i >= 1000 ? 9 : 1));

    const plain = predictGbdt(fitGbdt(train.x, shifted, valid, params).model, valid.x);
    const weighted = predictGbdt(fitGbdt(train.x, shifted, valid, params, undefined, weights).model, valid.x);

    const meanGap = weighted.reduce((s, w, i) => s + w - plain[i], 0) / plain.length;
    expect(meanGap).toBeGreaterThan(0.8);
  });
});
