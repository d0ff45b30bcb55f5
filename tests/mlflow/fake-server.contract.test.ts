import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';

// These pin the fake server to the contract document with raw HTTP (no client code involved), so the
// client tests run against MLflow's documented behaviour and not against whatever the client expects.
let fake: FakeMlflow;
beforeEach(async () => {
  fake = await startFakeMlflow();
});
afterEach(async () => {
  await fake.close();
});

const get = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${fake.url}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
    headers: res.headers,
  };
};

describe('fake MLflow follows mlflow-rest-contract.md', () => {
  test('resolving: an alias reply has exactly the documented keys; version is a string, timestamps numbers', async () => {
    const run = fake.createRun({ runId: '6dd459b11b4e48dc862f4e1019d166f6' });
    fake.createVersion({
      name: 'nyc-taxi-duration',
      source: `${run.artifact_uri}/model`,
      runId: run.run_id,
      tags: { validation_status: 'passed' },
      aliases: ['champion'],
    });

    const r = await get('/api/2.0/mlflow/registered-models/alias?name=nyc-taxi-duration&alias=champion');

    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^application\/json/);
    const mv = r.json().model_version as Record<string, unknown>;
    expect(Object.keys(mv).sort()).toEqual([
      'aliases',
      'creation_timestamp',
      'current_stage',
      'last_updated_timestamp',
      'name',
      'run_id',
      'source',
      'status',
      'tags',
      'version',
    ]);
    expect(mv).toMatchObject({
      version: '1',
      current_stage: 'None',
      status: 'READY',
      aliases: ['champion'],
      tags: [{ key: 'validation_status', value: 'passed' }],
    });
    expect(typeof mv.creation_timestamp).toBe('number');
  });

  test('resolving: an unset alias is 400 INVALID_PARAMETER_VALUE with the documented message; a missing parameter too', async () => {
    const unset = await get('/api/2.0/mlflow/registered-models/alias?name=nyc-taxi-duration&alias=champion');
    const missing = await get('/api/2.0/mlflow/registered-models/alias?name=nyc-taxi-duration');

    expect([unset.status, unset.json()]).toEqual([
      400,
      { error_code: 'INVALID_PARAMETER_VALUE', message: 'Registered model alias champion not found.' },
    ]);
    expect([missing.status, missing.json()]).toEqual([
      400,
      {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: "Missing value for required parameter 'alias'. See the API docs for more information about request parameters.",
      },
    ]);
  });

  test('resolving: an unknown version is 404 RESOURCE_DOES_NOT_EXIST; a non-integer version is 400', async () => {
    fake.createVersion({ name: 'nyc-taxi-duration', source: 'mlflow-artifacts:/0/r/artifacts/model' });

    expect((await get('/api/2.0/mlflow/model-versions/get?name=nyc-taxi-duration&version=42')).json()).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: 'Model Version (name=nyc-taxi-duration, version=42) not found',
    });
    expect((await get('/api/2.0/mlflow/model-versions/get?name=nyc-taxi-duration&version=abc')).json()).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: "Parameter 'version' must be an integer, got 'abc'.",
    });
  });

  test('resolving: no version in the stage is {}; an unknown stage is 400; an unknown model 404', async () => {
    fake.createVersion({ name: 'm', source: 'mlflow-artifacts:/0/r/artifacts/model' });

    expect((await get('/api/2.0/mlflow/registered-models/get-latest-versions?name=m&stages=Production')).text).toBe('{}');
    expect((await get('/api/2.0/mlflow/registered-models/get-latest-versions?name=m&stages=Prod')).json()).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'Invalid Model Version stage: Prod. Value must be one of None, Staging, Production, Archived.',
    });
    expect((await get('/api/2.0/mlflow/registered-models/get-latest-versions?name=x')).status).toBe(404);
  });

  test('wire format: DELETE reads its parameters from the JSON body, not the query string', async () => {
    fake.createVersion({ name: 'm', source: 'mlflow-artifacts:/0/r/artifacts/model', aliases: ['champion'] });

    const viaQuery = await get('/api/2.0/mlflow/registered-models/alias?name=m&alias=champion', { method: 'DELETE' });
    const viaBody = await get('/api/2.0/mlflow/registered-models/alias', {
      method: 'DELETE',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'm', alias: 'champion' }),
    });

    expect(viaQuery.status).toBe(400);
    expect([viaBody.status, viaBody.text]).toEqual([200, '{}']);
    expect(fake.model('m')?.aliases.size).toBe(0);
  });

  test('wire format: unknown routes are HTML 404; basic-auth 401 is text with WWW-Authenticate; 403 is text', async () => {
    const unknown = await get('/api/2.0/mlflow/nope');
    fake.requireAuth({ username: 'u', password: 'p' });
    const noAuth = await get('/api/2.0/mlflow/registered-models/alias?name=m&alias=a');
    const health = await get('/health');
    fake.requireAuth({ username: 'u', password: 'p', deny: true });
    const denied = await get('/api/2.0/mlflow/registered-models/alias?name=m&alias=a', {
      headers: { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` },
    });

    expect([unknown.status, unknown.type]).toEqual([404, 'text/html; charset=utf-8']);
    expect([noAuth.status, noAuth.headers.get('www-authenticate'), noAuth.text]).toEqual([
      401,
      'Basic realm="mlflow"',
      expect.stringMatching(/^You are not authenticated/),
    ]);
    expect([health.status, health.text]).toEqual([200, 'OK']);
    expect([denied.status, denied.type, denied.text]).toEqual([403, 'text/plain; charset=utf-8', 'Permission denied']);
  });

  test('artifacts: the proxy lists basenames (directories without file_size) and serves files as attachments', async () => {
    fake.putArtifacts('mlflow-artifacts:/', { 'a.txt': '1', 'dir/b.txt': '2' });

    const root = await get('/api/2.0/mlflow-artifacts/artifacts');
    const dir = await get('/api/2.0/mlflow-artifacts/artifacts?path=dir');
    const empty = await get('/api/2.0/mlflow-artifacts/artifacts?path=nothing');
    const file = await get('/api/2.0/mlflow-artifacts/artifacts/dir/b.txt');

    expect(root.json()).toEqual({
      files: [
        { path: 'a.txt', is_dir: false, file_size: 1 },
        { path: 'dir', is_dir: true },
      ],
    });
    expect(dir.json()).toEqual({ files: [{ path: 'b.txt', is_dir: false, file_size: 1 }] });
    expect(empty.text).toBe('{}');
    expect([file.text, file.headers.get('content-disposition'), file.headers.get('x-content-type-options')]).toEqual([
      '2',
      'attachment; filename=b.txt',
      'nosniff',
    ]);
  });

  test('artifacts: artifacts/list answers run-relative paths including the listed directory', async () => {
    const run = fake.createRun();
    fake.putArtifacts(run.artifact_uri, { 'a.txt': '1', 'dir/b.txt': '2' });

    const r = await get(`/api/2.0/mlflow/artifacts/list?run_id=${run.run_id}&path=dir`);

    expect(r.json()).toEqual({ root_uri: run.artifact_uri, files: [{ path: 'dir/b.txt', is_dir: false, file_size: 1 }] });
  });

  test('docs/mlflow-rest-contract.md/docs/mlflow-rest-contract.md: an MLflow 3 version downloads from the logged model location; an MLflow 2 server has no logged-models route', async () => {
    const lm = fake.createLoggedModel({ name: 'model' });
    fake.createVersion({ name: 'm', source: `models:/${lm.model_id}` });
    const mlflow2 = await startFakeMlflow({ major: 2 });

    const uri = await get('/api/2.0/mlflow/model-versions/get-download-uri?name=m&version=1');
    const logged = await get(`/api/2.0/mlflow/logged-models/${lm.model_id}`);
    const old = await fetch(`${mlflow2.url}/api/2.0/mlflow/logged-models/${lm.model_id}`);
    await mlflow2.close();

    expect(uri.json()).toEqual({ artifact_uri: `mlflow-artifacts:/0/models/${lm.model_id}/artifacts` });
    expect((logged.json().model as { info: object }).info).toMatchObject({
      model_id: lm.model_id,
      artifact_uri: lm.artifact_uri,
      status: 'LOGGED_MODEL_READY',
    });
    expect([old.status, old.headers.get('content-type')]).toEqual([404, 'text/html; charset=utf-8']);
  });

  test('logging: creating an existing registered model is 400 RESOURCE_ALREADY_EXISTS; POST without Content-Type is 400', async () => {
    const body = JSON.stringify({ name: 'm' });
    const first = await get('/api/2.0/mlflow/registered-models/create', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const again = await get('/api/2.0/mlflow/registered-models/create', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const noType = await get('/api/2.0/mlflow/registered-models/create', { method: 'POST', body: new Uint8Array(Buffer.from(body)) });

    expect(first.status).toBe(200);
    expect([again.status, again.json()]).toEqual([
      400,
      { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Registered Model (name=m) already exists.' },
    ]);
    expect([noType.status, noType.json()]).toEqual([
      400,
      { error_code: 'INVALID_PARAMETER_VALUE', message: 'Bad Request. Content-Type header is missing.' },
    ]);
  });
});
