import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { resolveAndDownload, resolveModelUri } from '../../src/mlflow/download.js';
import { startFakeMlflow } from '../support/mlflow-fake-server.js';
import {
  MODEL,
  SKLEARN_MLMODEL,
  modelFiles,
  onnxMlmodel,
  recordingLogger,
  registerMlflow2Version,
  registerMlflow3Version,
  startHarness,
  type Harness,
} from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const dest = (name = 'model') => join(h.tmp, name);
const paths = () => h.fake.requests.map((r) => `${r.method} ${r.path}`);

async function expectSameFiles(dir: string, files: Record<string, Buffer>) {
  expect((await readdir(dir)).sort()).toEqual(Object.keys(files).sort());
  for (const [name, bytes] of Object.entries(files)) expect((await readFile(join(dir, name))).equals(bytes)).toBe(true);
}

describe('resolution', () => {
  test('When the URI is an alias, then name, version, alias, source and run come from the registry', async () => {
    const { run, dir } = registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });

    const r = await resolveModelUri(`models:/${MODEL}@champion`, h.client);

    expect(r).toMatchObject({
      name: MODEL,
      version: '1',
      alias: 'champion',
      source: dir,
      runId: run.run_id,
      storageUri: dir,
      warnings: [],
    });
  });

  test('When the URI names a stage, then the highest version in it is taken, with a logged deprecation warning', async () => {
    registerMlflow2Version(h.fake, undefined, { stage: 'Production' });
    registerMlflow2Version(h.fake, undefined, { stage: 'Staging' });
    registerMlflow2Version(h.fake, undefined, { stage: 'Production' });
    const logger = recordingLogger();

    const r = await resolveModelUri(`models:/${MODEL}/Production`, h.client, { logger });

    expect(r.version).toBe('3');
    expect(r.warnings).toEqual([expect.stringMatching(/deprecated/)]);
    expect(logger.lines).toEqual([{ level: 'warn', obj: { modelUri: `models:/${MODEL}/Production` }, msg: r.warnings[0] }]);
  });

  test('When the URI is /latest, then the highest version across stages wins (not the first stage listed)', async () => {
    registerMlflow2Version(h.fake, undefined, { stage: 'Production' });
    registerMlflow2Version(h.fake, undefined, { stage: 'None' });
    registerMlflow2Version(h.fake, undefined, { stage: 'Archived' });

    const r = await resolveModelUri(`models:/${MODEL}/latest`, h.client);

    expect(r.version).toBe('3');
    expect(r.warnings).toHaveLength(1);
  });

  test('When no version is in the stage, then not_found uses MLflow wording', async () => {
    registerMlflow2Version(h.fake);

    await expect(resolveModelUri(`models:/${MODEL}/Staging`, h.client)).rejects.toMatchObject({
      code: 'not_found',
      message: `No versions of model with name '${MODEL}' and stage 'Staging' found`,
    });
  });

  test('When an MLflow 3 version is resolved, then the model id comes from its models:/m-<id> source', async () => {
    const { logged, run } = registerMlflow3Version(h.fake, undefined, { aliases: ['champion'] });

    const r = await resolveModelUri(`models:/${MODEL}@champion`, h.client);

    expect(r).toMatchObject({ version: '1', modelId: logged.model_id, runId: run.run_id, storageUri: logged.artifact_uri });
  });
});

describe('download', () => {
  test('When an MLflow 2 version (mlflow-artifacts: source) is downloaded, then every file arrives through the proxy', async () => {
    const files = modelFiles();
    registerMlflow2Version(h.fake, files, { aliases: ['champion'] });

    const got = await resolveAndDownload(`models:/${MODEL}@champion`, h.client, dest());

    await expectSameFiles(dest(), files);
    expect(got).toMatchObject({
      dir: dest(),
      onnxFile: join(dest(), 'model.onnx'),
      mlmodel: { flavors: ['onnx', 'python_function'], onnxData: 'model.onnx' },
    });
    expect(paths()).toContain(`GET /api/2.0/mlflow-artifacts/artifacts/0/${got.resolved.runId}/artifacts/model/model.onnx`);
    expect(h.fake.requests.find((r) => r.path === '/api/2.0/mlflow-artifacts/artifacts')?.query.get('path')).toBe(
      `0/${got.resolved.runId}/artifacts/model`,
    );
  });

  test('When an MLflow 3 logged model (models:/m-<id>) is downloaded, then its files come from the logged model location', async () => {
    const { logged } = registerMlflow3Version(h.fake);

    const got = await resolveAndDownload(`models:/${logged.model_id}`, h.client, dest());

    expect(got.resolved).toMatchObject({ kind: 'logged-model', name: logged.model_id, modelId: logged.model_id });
    expect(got.mlmodel.modelId).toBe(logged.model_id);
    expect(paths()).toContain(`GET /api/2.0/mlflow/logged-models/${logged.model_id}`);
    expect(paths()).toContain(`GET /api/2.0/mlflow-artifacts/artifacts/0/models/${logged.model_id}/artifacts/model.onnx`);
  });

  test('When the model has external weight files and sub-directories, then they are downloaded beside model.onnx', async () => {
    const files = modelFiles({ externalData: true });
    const { version } = registerMlflow2Version(h.fake, files);
    h.fake.putArtifacts(`${version.source}/code/nested`, { 'helper.txt': 'x' });

    const got = await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

    expect(got.files.map((f) => f.path)).toContain('2f1c9d3e-0b7a-11f0-9c2e-0242ac120002.data');
    expect(got.files.map((f) => f.path)).toContain('code/nested/helper.txt');
    expect(await readFile(join(dest(), '2f1c9d3e-0b7a-11f0-9c2e-0242ac120002.data'))).toEqual(
      files['2f1c9d3e-0b7a-11f0-9c2e-0242ac120002.data'],
    );
    expect(await readFile(join(dest(), 'code', 'nested', 'helper.txt'), 'utf8')).toBe('x');
  });

  test('When a runs:/ URI points at an MLflow 2 run, then the run artifacts are used', async () => {
    const files = modelFiles();
    const run = h.fake.createRun();
    h.fake.putArtifacts(`${run.artifact_uri}/model`, files);

    const got = await resolveAndDownload(`runs:/${run.run_id}/model`, h.client, dest());

    await expectSameFiles(dest(), files);
    expect(got.resolved).toMatchObject({ kind: 'run', runId: run.run_id, modelId: undefined });
  });

  test('When a runs:/ URI points at an MLflow 3 run, then the logged model with that name is found through the run outputs', async () => {
    const { run, logged } = registerMlflow3Version(h.fake);

    const got = await resolveAndDownload(`runs:/${run.run_id}/model`, h.client, dest());

    expect(got.resolved).toMatchObject({ modelId: logged.model_id, storageUri: logged.artifact_uri });
    expect(got.mlmodel.modelId).toBe(logged.model_id);
  });

  test('When a version was registered with a runs:/ source, then it is resolved through the run', async () => {
    const files = modelFiles();
    const run = h.fake.createRun();
    h.fake.putArtifacts(`${run.artifact_uri}/model`, files);
    h.fake.createVersion({ name: MODEL, source: `runs:/${run.run_id}/model`, runId: run.run_id });

    await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

    await expectSameFiles(dest(), files);
  });

  test('When the run root is s3:// (no proxy), then the tracking server lists and streams the run artifacts', async () => {
    const files = modelFiles();
    const run = h.fake.createRun({ artifactUri: 's3://mlflow-models/1/abc/artifacts' });
    h.fake.putArtifacts('s3://mlflow-models/1/abc/artifacts/model', files);
    h.fake.createVersion({ name: MODEL, source: 's3://mlflow-models/1/abc/artifacts/model', runId: run.run_id });

    await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

    await expectSameFiles(dest(), files);
    expect(paths()).toContain('GET /api/2.0/mlflow/artifacts/list');
    expect(
      h.fake.requests
        .filter((r) => r.path === '/get-artifact')
        .map((r) => r.query.get('path'))
        .sort(),
    ).toEqual(
      Object.keys(files)
        .map((f) => `model/${f}`)
        .sort(),
    );
  });

  test('When the run listing is paged, then every page is followed', async () => {
    await h.close();
    h = await startHarness({ listPageSize: 2 });
    const files = modelFiles({ externalData: true });
    const run = h.fake.createRun({ artifactUri: 's3://mlflow-models/1/abc/artifacts' });
    h.fake.putArtifacts('s3://mlflow-models/1/abc/artifacts/model', files);

    await resolveAndDownload(`runs:/${run.run_id}/model`, h.client, dest());

    await expectSameFiles(dest(), files);
    expect(h.fake.requests.filter((r) => r.path === '/api/2.0/mlflow/artifacts/list').map((r) => r.query.get('page_token'))).toEqual([
      null,
      '2',
      '4',
      null,
      '2',
      '4',
    ]);
  });

  test('When the storage URI names another artifact host (mlflow-artifacts://host:port/…), then that host serves the files', async () => {
    const artifactServer = await startFakeMlflow();
    try {
      const files = modelFiles();
      artifactServer.putArtifacts('mlflow-artifacts:/5/run/artifacts/model', files);
      h.fake.createVersion({ name: MODEL, source: `mlflow-artifacts://127.0.0.1:${artifactServer.port}/5/run/artifacts/model` });

      await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

      await expectSameFiles(dest(), files);
      expect(artifactServer.requests.map((r) => r.path)).toContain('/api/2.0/mlflow-artifacts/artifacts/5/run/artifacts/model/model.onnx');
    } finally {
      await artifactServer.close();
    }
  });

  test('When the storage URI is an http URL of the artifact proxy, then it is read as is', async () => {
    const files = modelFiles();
    h.fake.putArtifacts('mlflow-artifacts:/7/r/artifacts/model', files);
    h.fake.createVersion({ name: MODEL, source: `${h.fake.url}/api/2.0/mlflow-artifacts/artifacts/7/r/artifacts/model` });

    await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

    await expectSameFiles(dest(), files);
  });

  test('When downloadArtifacts is given a sub-path, then only that sub-tree lands in the destination, relative to it', async () => {
    const run = h.fake.createRun();
    h.fake.putArtifacts(run.artifact_uri, { 'model/MLmodel': 'x', 'model/code/a.py': 'y', 'other.txt': 'z' });
    const location = h.client.artifactLocation(run.artifact_uri!)!;

    const got = await h.client.downloadArtifacts(location, dest(), 'model');

    expect(got.sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual([
      { path: 'MLmodel', size: 1 },
      { path: 'code/a.py', size: 1 },
    ]);
    expect(await readFile(join(dest(), 'code', 'a.py'), 'utf8')).toBe('y');
  });

  test('When the storage is neither proxied nor under a run, then invalid_model explains what is supported', async () => {
    h.fake.createVersion({ name: MODEL, source: 'gs://bucket/model' });

    await expect(resolveAndDownload(`models:/${MODEL}/1`, h.client, dest())).rejects.toMatchObject({
      code: 'invalid_model',
      message: expect.stringMatching(/cannot download from gs:\/\/bucket\/model.*--serve-artifacts/),
    });
  });
});

describe('refusals and atomicity', () => {
  test('When the model has no onnx flavor, then it is refused naming the flavors it has, and nothing is left', async () => {
    registerMlflow2Version(h.fake, { MLmodel: Buffer.from(SKLEARN_MLMODEL), 'model.pkl': Buffer.from('pickle') });

    const err = await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest()).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'invalid_model' });
    expect((err as Error).message).toMatch(
      /^model nyc-taxi-duration version 1 \(models:\/nyc-taxi-duration\/1\) has no onnx flavor; its flavors are: python_function, sklearn\./,
    );
    expect(await readdir(h.tmp)).toEqual([]);
  });

  test('When MLmodel points outside the model directory, then it is refused', async () => {
    registerMlflow2Version(h.fake, modelFiles({ mlmodel: onnxMlmodel({ data: '../../etc/passwd' }) }));

    await expect(resolveAndDownload(`models:/${MODEL}/1`, h.client, dest())).rejects.toMatchObject({
      code: 'invalid_model',
      message: expect.stringMatching(/points outside the model directory/),
    });
  });

  test('When the directory has no MLmodel, then it is not an MLflow Model', async () => {
    registerMlflow2Version(h.fake, { 'model.onnx': Buffer.from('bytes') });

    await expect(resolveAndDownload(`models:/${MODEL}/1`, h.client, dest())).rejects.toMatchObject({
      code: 'invalid_model',
      message: expect.stringMatching(/has no MLmodel file/),
    });
  });

  test('When a file fails mid-download for good, then nothing is left at the destination or beside it', async () => {
    registerMlflow2Version(h.fake, modelFiles({ externalData: true }));
    h.fake.failNext(10, { status: 500, body: '<html>oops</html>', contentType: 'text/html' }, { path: /\.data$/ });

    const err = await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest()).catch((e: unknown) => e);

    expect(err).toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/^cannot download artifact .*\.data: .*answered 500.*after 3 retries/),
    });
    expect(await readdir(h.tmp)).toEqual([]);
  });

  test('When a download is cut short once, then the retry starts the file over and the result is whole', async () => {
    const files = modelFiles();
    registerMlflow2Version(h.fake, files);
    h.fake.truncateNext(1, { path: /model\.onnx$/ });

    await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

    await expectSameFiles(dest(), files);
    expect(h.fake.requests.filter((r) => r.path.endsWith('/model.onnx'))).toHaveLength(2);
  });

  test('When a listed file arrives shorter than its listed size, then the download is refused', async () => {
    const files = modelFiles();
    const { version } = registerMlflow2Version(h.fake, files);
    h.fake.failNext(1, { status: 200, body: Buffer.from('short'), contentType: 'application/octet-stream' }, { path: /model\.onnx$/ });

    await expect(resolveAndDownload(`models:/${MODEL}/1`, h.client, dest())).rejects.toMatchObject({
      code: 'bad_response',
      message: 'artifact model.onnx: got 5 bytes, the listing says 4096',
    });
    expect(version.version).toBe('1');
    expect(await readdir(h.tmp)).toEqual([]);
  });

  test('When the destination already exists, then nothing is downloaded over it', async () => {
    registerMlflow2Version(h.fake);
    await resolveAndDownload(`models:/${MODEL}/1`, h.client, dest());

    await expect(resolveAndDownload(`models:/${MODEL}/1`, h.client, dest())).rejects.toMatchObject({
      message: expect.stringMatching(/already exists/),
    });
  });
});
