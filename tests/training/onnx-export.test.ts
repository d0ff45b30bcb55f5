import { describe, expect, test } from 'vitest';
import onnxProto from 'onnx-proto';
import { allocateInputColumns, INPUTS_BY_FEATURE_SET, type FeatureSet } from '../../src/features/model-contract.js';
import { exportOnnx } from '../../src/training/onnx-export.js';
import { checkParity, runOnnx, toInputColumns } from '../../src/training/onnx-check.js';
import { parseCliArgs } from '../../src/training/cli.js';
import { DEFAULT_CALIBRATION } from '../../src/training/intervals.js';
import { DEFAULT_PARAMS, PRESETS, type ModelParams } from '../../src/training/presets.js';
import { fitModel, predict } from '../../src/training/trained-model.js';
import { aTrip, syntheticTrips, tripTable } from '../support/trip-fixtures.js';

const params: ModelParams = { ...DEFAULT_PARAMS, gbdt: { ...DEFAULT_PARAMS.gbdt, maxLeaves: 15, maxRounds: 120, earlyStoppingRounds: 10 } };
const train = tripTable(syntheticTrips(3000, 11, 0));
const validation = tripTable(syntheticTrips(1500, 12, 1));

function trainAndExport(featureSet: FeatureSet, seed = 42) {
  const model = fitModel(train, featureSet, params, seed);
  return { model, onnx: exportOnnx(model.featurizer, model.gbdt, 'fixture') };
}

describe.each(['base', 'time'] as const)('ONNX export, %s feature set', (featureSet) => {
  const { model, onnx } = trainAndExport(featureSet);

  test('When the graph runs in onnxruntime-node, then it matches the trainer within 1e-3 min on every row', async () => {
    const expected = predict(model, validation);

    const report = await checkParity(onnx, featureSet, validation, expected);

    expect(report.rows).toBe(1500);
    expect(report.maxAbsDiff).toBeLessThanOrEqual(1e-3);
  });

  test('When zone ids are unseen, outside 1–265 or negative, then predictions are finite minutes within 1–60', async () => {
    const columns = allocateInputColumns(5);
    [
      [10, 20],
      [31, 40],
      [0, 0],
      [266, 1],
      [-7, 1_000_000],
    ].forEach(([pu, dropoff], i) => {
      columns.PULocationID[i] = BigInt(pu);
      columns.DOLocationID[i] = BigInt(dropoff);
      columns.trip_distance[i] = 3;
      columns.pickup_hour[i] = 9n;
      columns.pickup_dow[i] = 2n;
    });

    const out = await runOnnx(onnx, featureSet, columns);

    expect(out).toHaveLength(5);
    for (const minutes of out) {
      expect(Number.isFinite(minutes)).toBe(true);
      expect(minutes).toBeGreaterThan(1);
      expect(minutes).toBeLessThan(60);
    }
  });

  test('When zone ids are outside the lookup tables, then the graph gives what the trainer gives for an unseen id', async () => {
    const ids = [
      [0, 0],
      [266, 1],
      [-7, 40],
      [1_000_000, 264],
      [265, 265],
      [10, 2_000_000_000],
    ];
    const trips = tripTable(ids.map(([pu, dropoff]) => aTrip({ PULocationID: pu, DOLocationID: dropoff })));

    const report = await checkParity(onnx, featureSet, trips, predict(model, trips));

    expect(report.maxAbsDiff).toBeLessThanOrEqual(1e-3);
  });

  test('When the graph is decoded, then it is a handful of nodes: one Gather per lookup table, no per-feature encoders', () => {
    const graph = onnxProto.onnx.ModelProto.decode(onnx).graph!;
    const ops = graph.node!.map((n) => n.opType);

    expect(ops.filter((op) => op === 'Gather')).toHaveLength(3);
    expect(ops).not.toContain('LabelEncoder');
    expect(ops.length).toBeLessThanOrEqual(featureSet === 'time' ? 16 : 12);
  });

  test('When the graph is decoded, then it has the contract inputs, a 1-D duration output and only standard domains', () => {
    const decoded = onnxProto.onnx.ModelProto.decode(onnx);
    const graph = decoded.graph!;
    const domains = new Set(decoded.opsetImport.map((o) => o.domain));

    expect(graph.input!.map((i) => i.name)).toEqual(INPUTS_BY_FEATURE_SET[featureSet].map((s) => s.name));
    expect(graph.output!.map((o) => o.name)).toEqual(['duration']);
    expect(graph.output![0].type!.tensorType!.shape!.dim).toHaveLength(1);
    expect([...domains].sort()).toEqual(['', 'ai.onnx.ml']);
    for (const node of graph.node!) expect(['', 'ai.onnx.ml']).toContain(node.domain ?? '');
  });
});

describe('reproducibility', () => {
  test('When trained twice with the same seed, then model.onnx is byte-identical; with another seed it differs', () => {
    const first = trainAndExport('time', 42).onnx;
    const again = trainAndExport('time', 42).onnx;
    const other = trainAndExport('time', 43).onnx;

    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(other).equals(Buffer.from(first))).toBe(false);
  });

  test('When trips go through the shared contract columns, then ids, times and distances keep their values', () => {
    const columns = toInputColumns(validation);

    expect(columns.PULocationID[3]).toBe(BigInt(validation.puLocationId[3]));
    expect(columns.pickup_dow[3]).toBe(BigInt(validation.pickupDow[3]));
    expect(columns.trip_distance[3]).toBe(validation.tripDistance[3]);
  });
});

describe('presets', () => {
  test('When the accurate preset is chosen from the CLI, then its parameters reach the trainer; serving is the default', () => {
    const args = ['--train', 'a.parquet', '--validation', 'b.parquet'];

    expect(parseCliArgs(args).params).toBe(PRESETS.serving);
    expect(parseCliArgs([...args, '--preset', 'accurate']).params).toBe(PRESETS.accurate);
    expect(DEFAULT_PARAMS).toBe(PRESETS.serving);
  });

  test("When an interval recipe is chosen from the CLI, then it reaches the trainer; version 4's is the default; unknown ones are refused", () => {
    const args = ['--train', 'a.parquet', '--validation', 'b.parquet'];

    expect(parseCliArgs(args).calibration).toEqual(DEFAULT_CALIBRATION);
    expect(DEFAULT_CALIBRATION).toMatchObject({ scale: 'additive', scheme: { kind: 'gap', fitBeforeDay: 8, scoreFromDay: 15 } });
    expect(parseCliArgs([...args, '--calibration', 'forward-weeks', '--interval-scale', 'multiplicative']).calibration).toMatchObject({
      scale: 'multiplicative',
      scheme: { kind: 'forward-weeks' },
    });
    expect(() => parseCliArgs([...args, '--calibration', 'weekly'])).toThrow(
      /--calibration must be one of gap, forward-weeks, last-week, leave-week-out, not weekly/,
    );
    expect(() => parseCliArgs([...args, '--calibration', 'constructor'])).toThrow(/--calibration must be one of/);
    expect(() => parseCliArgs([...args, '--interval-scale', 'log'])).toThrow(
      /--interval-scale must be additive or multiplicative, not log/,
    );
  });
});
