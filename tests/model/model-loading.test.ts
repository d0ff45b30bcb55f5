import { describe, expect, test } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createModelSource } from '../../src/registry/create-source.js';
import { readModelDirectory } from '../../src/registry/model-directory.js';
import { parseModelUri } from '../../src/registry/model-uri.js';
import { EMBEDDED_REGISTRY, FIXTURE_REGISTRY, REPO_ROOT, loadTestModel } from '../support/app.js';

const fixtures = createModelSource(loadConfig({ REGISTRY_URI: FIXTURE_REGISTRY }), { cwd: REPO_ROOT });

describe('parseModelUri', () => {
  test('When the URI names an alias or a version, then both parts are read', () => {
    expect(parseModelUri('models:/taxi-ride-duration@production')).toEqual({
      kind: 'alias',
      name: 'taxi-ride-duration',
      alias: 'production',
      text: 'models:/taxi-ride-duration@production',
    });
    expect(parseModelUri('models:/taxi-ride-duration/12')).toMatchObject({ kind: 'version', version: '12' });
  });

  test.each([
    ['models:/m/Production', { kind: 'stage', name: 'm', stage: 'Production', warning: expect.stringMatching(/deprecated/) }],
    ['models:/m/latest', { kind: 'latest', name: 'm', warning: expect.stringMatching(/deprecated/) }],
    ['models:/m-0123456789abcdef0123456789abcdef', { kind: 'logged-model', modelId: 'm-0123456789abcdef0123456789abcdef' }],
    ['runs:/abc123/model', { kind: 'run', runId: 'abc123', path: 'model' }],
    ['file:models/taxi-ride-duration/2', { kind: 'path', path: 'models/taxi-ride-duration/2' }],
    ['file:///opt/model', { kind: 'path', path: '/opt/model' }],
    ['https://example.com/models/v3/model.onnx', { kind: 'url', url: 'https://example.com/models/v3/model.onnx' }],
  ])('When the URI is %s, then it is accepted as its MLflow form', (text, expected) => {
    expect(parseModelUri(text)).toMatchObject(expected);
  });

  test.each([['s3://bucket/model'], ['models:/a/b/c'], ['models:/name@'], ['models:/name@bad alias'], ['runs:/bad id/model'], ['file:']])(
    'When the URI is %s, then it is refused with the accepted forms or the broken part',
    (text) => {
      expect(() => parseModelUri(text)).toThrow(/models:\/<name>|alias|version/);
    },
  );
});

describe('file registry', () => {
  test('When an alias is resolved, then it gives the version directory from aliases.json', async () => {
    const resolved = await fixtures.resolve(parseModelUri('models:/taxi-ride-duration@base'));

    expect(resolved).toEqual({
      name: 'taxi-ride-duration',
      version: '1',
      alias: 'base',
      dir: `${REPO_ROOT}/tests/fixtures/registry/taxi-ride-duration/1`,
    });
    expect(await readModelDirectory(resolved.dir)).toEqual({
      onnxFile: `${resolved.dir}/model.onnx`,
      training: { feature_set: 'base', metrics: { val_rmse: 5.5, val_mae: 3.25 } },
    });
  });

  test.each([
    ['models:/taxi-ride-duration@staging', /has no alias "staging"/],
    ['models:/taxi-ride-duration@constructor', /has no alias "constructor"/],
    ['models:/taxi-ride-duration@dangling', /version 9 not found/],
    ['models:/taxi-ride-duration/7', /version 7 not found/],
    ['models:/unknown-model@production', /cannot read .*unknown-model\/aliases.json/],
  ])('When %s is resolved, then it fails with reason resolve', async (uri, message) => {
    const err = await fixtures.resolve(parseModelUri(uri)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err).toMatchObject({ reason: 'resolve', message: expect.stringMatching(message) });
  });

  test('When the registry URI is http(s) but no MLflow client is given, then the source refuses it', () => {
    const config = { ...loadConfig({}), REGISTRY_URI: 'http://mlflow:5000' };
    expect(() => createModelSource(config, { cwd: REPO_ROOT })).toThrow(/with MLflow client options/);
  });
});

describe('loading a model', () => {
  test('When the embedded production model loads, then its signature matches the contract', async () => {
    const model = await loadTestModel();

    expect(model.info).toMatchObject({ name: 'taxi-ride-duration', alias: 'production', featureSet: 'time' });
    expect(model.info.inputs.map((i) => i.name)).toEqual(['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow']);
    await model.release();
  });

  test('When the base (3-input) model loads, then only the base inputs are fed', async () => {
    const model = await loadTestModel('models:/taxi-ride-duration/1', EMBEDDED_REGISTRY);

    expect(model.info.featureSet).toBe('base');
    expect(model.info.inputs.map((i) => i.name)).toEqual(['PULocationID', 'DOLocationID', 'trip_distance']);
    await model.release();
  });

  test.each([
    ['models:/taxi-ride-duration@broken', 'signature', /model inputs \[distance:float32\] match no feature set/],
    ['models:/taxi-ride-duration@nan', 'warmup', /warm-up inference returned NaN/],
    ['models:/taxi-ride-duration@staging', 'resolve', /has no alias/],
  ])('When %s is loaded, then it fails (%s) and model_load_failures_total counts it', async (uri, reason, message) => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });

    const err = await loadTestModel(uri, FIXTURE_REGISTRY, metrics).catch((e: unknown) => e);

    expect(err).toMatchObject({ reason, message: expect.stringMatching(message) });
    expect(await metrics.registry.getSingleMetricAsString('model_load_failures_total')).toContain(
      `model_load_failures_total{reason="${reason}"} 1`,
    );
  });

  test('When a model has the interval outputs as well, then it loads and returns the duration with its interval', async () => {
    const { loadOnnxModel } = await import('../../src/model/onnx-model.js');
    const { allocateInputColumns } = await import('../../src/features/model-contract.js');
    const resolved = { name: 'x', version: '1', alias: undefined, dir: `${REPO_ROOT}/tests/fixtures/models` };
    const model = await loadOnnxModel(resolved, { onnxFile: `${REPO_ROOT}/tests/fixtures/models/intervals.onnx`, training: undefined });
    const columns = allocateInputColumns(1);
    columns.trip_distance[0] = 2;

    const out = await model.run(columns, 1);

    expect(model.info.featureSet).toBe('time');
    expect(model.info.intervals).toBe(true);
    expect(model.info.outputs.map((o) => o.name)).toEqual(['duration', 'duration_p10', 'duration_p90']);
    expect(out.duration[0]).toBeCloseTo(8, 5);
    expect(out.p10![0]).toBeCloseTo(7, 5);
    expect(out.p90![0]).toBeCloseTo(10, 5);
    await model.release();
  });

  test('When the output is not named duration, then the signature check refuses it', async () => {
    const { loadOnnxModel } = await import('../../src/model/onnx-model.js');
    const resolved = { name: 'x', version: '1', alias: undefined, dir: `${REPO_ROOT}/tests/fixtures/models` };

    const err = await loadOnnxModel(resolved, {
      onnxFile: `${REPO_ROOT}/tests/fixtures/models/wrong-output.onnx`,
      training: undefined,
    }).catch((e: unknown) => e);

    expect(err).toMatchObject({ reason: 'signature', message: expect.stringContaining('float32 tensor named "duration"') });
  });

  test('When the ONNX file is not a model, then it fails with reason session', async () => {
    const { loadOnnxModel } = await import('../../src/model/onnx-model.js');
    const resolved = { name: 'x', version: '1', alias: undefined, dir: REPO_ROOT };

    const err = await loadOnnxModel(resolved, { onnxFile: `${REPO_ROOT}/package.json`, training: undefined }).catch((e: unknown) => e);

    expect(err).toMatchObject({ reason: 'session' });
  });

  test('When the slow fixture runs, then it answers like the base model but takes tens of milliseconds per trip', async () => {
    const { tripsToColumns } = await import('../../src/features/trip-inputs.js');
    const slow = await loadTestModel('models:/taxi-ride-duration@slow', FIXTURE_REGISTRY);
    const base = await loadTestModel('models:/taxi-ride-duration@base', FIXTURE_REGISTRY);
    const columns = tripsToColumns([{ PULocationID: 7, DOLocationID: 8, trip_distance: 3.5, pickup: undefined }], 0);

    const started = performance.now();
    const [slowDuration] = (await slow.run(columns, 1)).duration;
    const elapsed = performance.now() - started;

    expect(slowDuration).toBeCloseTo((await base.run(columns, 1)).duration[0], 4);
    expect(elapsed).toBeGreaterThan(10);
    await Promise.all([slow.release(), base.release()]);
  });

  test("When a source fails, then the failure is counted with the ModelLoadError's reason, or as resolve", async () => {
    const { loadModel } = await import('../../src/model/load-model.js');
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const failing = (err: Error) => ({
      description: 'test',
      resolve: async () => {
        throw err;
      },
    });

    await expect(loadModel(failing(new Error('registry said no')), parseModelUri('models:/m@a'), metrics)).rejects.toThrow(
      'registry said no',
    );
    await expect(
      loadModel(failing(new ModelLoadError('artifact', 'registry said no')), parseModelUri('models:/m@a'), metrics),
    ).rejects.toThrow('registry said no');

    const text = await metrics.registry.getSingleMetricAsString('model_load_failures_total');
    expect(text).toContain('model_load_failures_total{reason="resolve"} 1');
    expect(text).toContain('model_load_failures_total{reason="artifact"} 1');
  });

  test('When a model loads, then model_load_duration_seconds records it', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });

    const model = await loadTestModel(undefined, undefined, metrics);

    expect(await metrics.registry.getSingleMetricAsString('model_load_duration_seconds')).toContain('model_load_duration_seconds_count 1');
    await model.release();
  });
});
