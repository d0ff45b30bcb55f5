import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { resolveAndDownload } from '../../src/mlflow/download.js';
import { MODEL, modelFiles, startHarness, type Harness } from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const bodies = (path: string) => h.fake.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body.toString()));

describe('experiments and runs', () => {
  test('When the experiment does not exist, then it is created and read back', async () => {
    const exp = await h.client.getOrCreateExperiment('nyc-taxi-duration', { team: 'mlops' });

    expect(exp).toMatchObject({
      name: 'nyc-taxi-duration',
      lifecycle_stage: 'active',
      artifact_location: `mlflow-artifacts:/${exp.experiment_id}`,
    });
    expect(bodies('/api/2.0/mlflow/experiments/create')).toEqual([{ name: 'nyc-taxi-duration', tags: [{ key: 'team', value: 'mlops' }] }]);
  });

  test('When another creator wins the race (RESOURCE_ALREADY_EXISTS), then the existing experiment is used', async () => {
    const existing = h.fake.createExperiment('nyc-taxi-duration');
    h.fake.failNext(
      1,
      {
        status: 404,
        body: JSON.stringify({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Could not find experiment with name 'nyc-taxi-duration'" }),
      },
      { path: '/api/2.0/mlflow/experiments/get-by-name' },
    );

    const exp = await h.client.getOrCreateExperiment('nyc-taxi-duration');

    expect(exp.experiment_id).toBe(existing.experiment_id);
  });

  test('When a run is created, logged to and finished, then the server holds its params, metrics and tags', async () => {
    const exp = await h.client.getOrCreateExperiment('nyc-taxi-duration');

    const run = await h.client.createRun({
      experimentId: exp.experiment_id,
      runName: 'gbdt-1',
      startTime: 1732097700000,
      tags: { 'mlflow.source.type': 'LOCAL' },
    });
    await h.client.logBatch(run.run_id, {
      params: { max_depth: 6, learning_rate: 0.1 },
      metrics: { rmse: 6.304, mae: { value: 4.1, step: 2, timestamp: 1732097710000 }, r2_bad: Number.NaN },
      tags: { 'model.format': 'onnx' },
    });
    const finished = await h.client.updateRun(run.run_id, 'FINISHED', 1732097760000);

    const state = h.fake.run(run.run_id);
    expect(run).toMatchObject({
      run_name: 'gbdt-1',
      status: 'RUNNING',
      artifact_uri: `mlflow-artifacts:/${exp.experiment_id}/${run.run_id}/artifacts`,
    });
    expect(Object.fromEntries(state!.params)).toEqual({ max_depth: '6', learning_rate: '0.1' });
    expect(state!.metrics).toEqual([
      { key: 'rmse', value: 6.304, timestamp: expect.any(Number), step: 0 },
      { key: 'mae', value: 4.1, timestamp: 1732097710000, step: 2 },
      { key: 'r2_bad', value: 'NaN', timestamp: expect.any(Number), step: 0 },
    ]);
    expect(state!.tags.get('model.format')).toBe('onnx');
    expect(state!.tags.get('mlflow.source.type')).toBe('LOCAL');
    expect(finished).toMatchObject({ run_id: run.run_id, status: 'FINISHED', end_time: 1732097760000 });
  });

  test('When more than 100 params are logged, then they are split into requests within MLflow limits', async () => {
    const run = await h.client.createRun({ experimentId: (await h.client.getOrCreateExperiment('e')).experiment_id });
    const params = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`p${i}`, i]));

    await h.client.logBatch(run.run_id, { params });

    expect(bodies('/api/2.0/mlflow/runs/log-batch').map((b) => b.params.length)).toEqual([100, 100, 50]);
    expect(h.fake.run(run.run_id)!.params.size).toBe(250);
  });

  test('When a param is logged again with a new value, then the server refusal is rejected with its message', async () => {
    const run = await h.client.createRun({ experimentId: (await h.client.getOrCreateExperiment('e')).experiment_id });
    await h.client.logBatch(run.run_id, { params: { a: 1 } });

    await expect(h.client.logBatch(run.run_id, { params: { a: 2 } })).rejects.toMatchObject({
      code: 'rejected',
      message: expect.stringMatching(/Changing param values is not allowed/),
    });
  });
});

describe('upload and registration (training to serving)', () => {
  test('When a model directory is uploaded, registered and aliased, then it resolves and downloads back byte for byte', async () => {
    const local = join(h.tmp, 'out');
    const files = modelFiles({ externalData: true });
    await mkdir(join(local, 'extra'), { recursive: true });
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(local, name), bytes);
    await writeFile(join(local, 'extra', 'training.json'), '{"rmse": 6.3}');
    const exp = await h.client.getOrCreateExperiment('nyc-taxi-duration');
    const run = await h.client.createRun({ experimentId: exp.experiment_id });
    const runArtifacts = h.client.artifactLocation(run.artifact_uri!)!;

    const uploaded = await h.client.uploadArtifactDir(runArtifacts, local, 'model');
    expect(await h.client.createRegisteredModel(MODEL, 'green taxi trip duration (minutes)')).toEqual({ created: true });
    expect(await h.client.createRegisteredModel(MODEL)).toEqual({ created: false });
    const mv = await h.client.createModelVersion({
      name: MODEL,
      source: `${run.artifact_uri}/model`,
      runId: run.run_id,
      tags: { git_sha: 'abc123' },
    });
    await h.client.setModelVersionAlias(MODEL, 'champion', mv.version);
    const back = await resolveAndDownload(`models:/${MODEL}@champion`, h.client, join(h.tmp, 'back'));

    expect(uploaded.sort()).toEqual([...Object.keys(files).map((f) => `model/${f}`), 'model/extra/training.json'].sort());
    expect(mv).toMatchObject({ version: '1', run_id: run.run_id, tags: [{ key: 'git_sha', value: 'abc123' }] });
    expect(back.files.map((f) => f.path).sort()).toEqual([...Object.keys(files), 'extra/training.json'].sort());
    const mlmodelPut = h.fake.requests.find((r) => r.method === 'PUT' && r.path.endsWith('/model/MLmodel'));
    expect(mlmodelPut?.headers['content-type']).toBe('text/plain');
    expect(h.fake.readArtifact(`${run.artifact_uri}/model/model.onnx`)?.equals(files['model.onnx'])).toBe(true);
  });

  test('When creating a model version hits a timeout, then it is not retried (it could register twice)', async () => {
    h.fake.createVersion({ name: MODEL, source: 'mlflow-artifacts:/0/x/artifacts/model' });
    h.fake.hangNext(1, { path: '/api/2.0/mlflow/model-versions/create' });
    const client = h.makeClient({ timeoutMs: 200 });

    await expect(client.createModelVersion({ name: MODEL, source: 'mlflow-artifacts:/0/x/artifacts/model' })).rejects.toMatchObject({
      code: 'unavailable',
    });

    expect(h.fake.requests.filter((r) => r.path === '/api/2.0/mlflow/model-versions/create')).toHaveLength(1);
  });

  test('When creating a model version gets 503 first, then it is retried (the server did nothing)', async () => {
    h.fake.createVersion({ name: MODEL, source: 'mlflow-artifacts:/0/x/artifacts/model' });
    h.fake.failNext(
      1,
      { status: 503, body: '{"error_code":"TEMPORARILY_UNAVAILABLE","message":"x"}' },
      { path: '/api/2.0/mlflow/model-versions/create' },
    );

    const mv = await h.client.createModelVersion({ name: MODEL, source: 'mlflow-artifacts:/0/x/artifacts/model' });

    expect(mv.version).toBe('2');
  });

  test('When the registered model does not exist, then creating a version is not_found', async () => {
    await expect(h.client.createModelVersion({ name: 'nope', source: 'mlflow-artifacts:/0/x' })).rejects.toMatchObject({
      code: 'not_found',
      message: 'Registered Model with name=nope not found',
    });
  });
});
