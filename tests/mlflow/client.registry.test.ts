import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { RegistryError } from '../../src/mlflow/errors.js';
import { MODEL, registerMlflow2Version, registerMlflow3Version, startHarness, type Harness } from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const lastRequest = () => h.fake.requests[h.fake.requests.length - 1];

describe('getModelVersionByAlias', () => {
  test('When the alias is set, then it returns that version with string version and defaulted lists', async () => {
    registerMlflow2Version(h.fake);
    const { version } = registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });

    const mv = await h.client.getModelVersionByAlias(MODEL, 'champion');

    expect(mv).toMatchObject({ name: MODEL, version: '2', aliases: ['champion'], tags: [], run_id: version.run_id, status: 'READY' });
    expect(lastRequest()).toMatchObject({ method: 'GET', path: '/api/2.0/mlflow/registered-models/alias' });
    expect(Object.fromEntries(lastRequest().query)).toEqual({ name: MODEL, alias: 'champion' });
  });

  test('When the alias is not set, then the 400 INVALID_PARAMETER_VALUE becomes not_found naming model and alias', async () => {
    registerMlflow2Version(h.fake);

    const err = await h.client.getModelVersionByAlias(MODEL, 'champion').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'not_found', status: 400, mlflowCode: 'INVALID_PARAMETER_VALUE' });
    expect((err as Error).message).toMatch(/alias "champion" of registered model "nyc-taxi-duration" not found/);
    expect(h.fake.requests).toHaveLength(1);
  });

  test('When the alias name is invalid, then the server refusal stays rejected (not a missing alias)', async () => {
    const err = await h.client.getModelVersionByAlias(MODEL, 'bad alias!').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'rejected', status: 400, message: expect.stringMatching(/Invalid alias name/) });
  });
});

describe('getModelVersion and getDownloadUri', () => {
  test('When the version has no tags, aliases or description, then the omitted fields default', async () => {
    registerMlflow2Version(h.fake);
    const raw = (await fetch(`${h.fake.url}/api/2.0/mlflow/model-versions/get?name=${MODEL}&version=1`).then((r) => r.json())) as {
      model_version: object;
    };

    const mv = await h.client.getModelVersion(MODEL, '1');

    expect(raw.model_version).not.toHaveProperty('aliases');
    expect(raw.model_version).not.toHaveProperty('tags');
    expect(mv).toMatchObject({ version: '1', tags: [], aliases: [] });
    expect(mv.description).toBeUndefined();
  });

  test('When the version does not exist, then not_found names the model and the version', async () => {
    registerMlflow2Version(h.fake);

    const err = await h.client.getModelVersion(MODEL, '42').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'not_found', status: 404, mlflowCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect((err as Error).message).toBe('version 42 of registered model "nyc-taxi-duration" not found');
  });

  test('When an MLflow 3 version is asked for its download URI, then it is the logged model location, not the source', async () => {
    const { logged } = registerMlflow3Version(h.fake);

    const mv = await h.client.getModelVersion(MODEL, '1');
    const uri = await h.client.getDownloadUri(MODEL, '1');

    expect(mv.source).toBe(`models:/${logged.model_id}`);
    expect(uri).toBe(`mlflow-artifacts:/0/models/${logged.model_id}/artifacts`);
  });
});

describe('getLatestVersions', () => {
  test('When stages are given, then it POSTs them and returns the latest version per stage', async () => {
    registerMlflow2Version(h.fake, undefined, { stage: 'Production' });
    registerMlflow2Version(h.fake, undefined, { stage: 'Production' });
    registerMlflow2Version(h.fake, undefined, { stage: 'Staging' });

    const versions = await h.client.getLatestVersions(MODEL, ['production']);

    expect(versions.map((v) => [v.version, v.current_stage])).toEqual([['2', 'Production']]);
    expect(lastRequest()).toMatchObject({ method: 'POST', path: '/api/2.0/mlflow/registered-models/get-latest-versions' });
    expect(JSON.parse(lastRequest().body.toString())).toEqual({ name: MODEL, stages: ['production'] });
  });

  test('When no version is in the stage, then the reply {} reads as an empty list', async () => {
    registerMlflow2Version(h.fake);

    expect(await h.client.getLatestVersions(MODEL, ['Production'])).toEqual([]);
  });

  test('When the server does not know the POST route, then it falls back to GET with repeated stages', async () => {
    await h.close();
    h = await startHarness({ postLatestVersions: false });
    registerMlflow2Version(h.fake, undefined, { stage: 'Staging' });

    const versions = await h.client.getLatestVersions(MODEL, ['Staging', 'Production']);

    expect(versions.map((v) => v.version)).toEqual(['1']);
    expect(h.fake.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
    expect(lastRequest().query.getAll('stages')).toEqual(['Staging', 'Production']);
  });

  test('When the registered model does not exist, then not_found names it', async () => {
    const err = await h.client.getLatestVersions('nope').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'not_found', message: 'registered model "nope" not found' });
  });
});

describe('aliases, written', () => {
  test('When an alias is deleted, then the parameters travel in a JSON body of the DELETE', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });

    await h.client.deleteModelVersionAlias(MODEL, 'champion');

    expect(lastRequest()).toMatchObject({ method: 'DELETE', path: '/api/2.0/mlflow/registered-models/alias' });
    expect([...lastRequest().query]).toEqual([]);
    expect(lastRequest().headers['content-type']).toBe('application/json');
    expect(JSON.parse(lastRequest().body.toString())).toEqual({ name: MODEL, alias: 'champion' });
    expect(h.fake.model(MODEL)?.aliases.has('champion')).toBe(false);
  });

  test('When an alias is set on another version, then it moves there', async () => {
    registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
    registerMlflow2Version(h.fake);

    await h.client.setModelVersionAlias(MODEL, 'champion', '2');

    expect((await h.client.getModelVersionByAlias(MODEL, 'champion')).version).toBe('2');
  });

  test('When a reserved alias is set, then the server refusal is rejected with its message', async () => {
    registerMlflow2Version(h.fake);

    await expect(h.client.setModelVersionAlias(MODEL, 'latest', '1')).rejects.toMatchObject({
      code: 'rejected',
      message: expect.stringMatching(/'latest' alias name \(case insensitive\) is reserved/),
    });
  });
});

describe('logged models', () => {
  test('When the logged model exists, then its artifact_uri and source run are returned', async () => {
    const { logged, run } = registerMlflow3Version(h.fake);

    const info = await h.client.getLoggedModel(logged.model_id);

    expect(info).toMatchObject({ model_id: logged.model_id, artifact_uri: logged.artifact_uri, source_run_id: run.run_id, tags: [] });
  });

  test('When the server is MLflow 2 (no logged-models route), then not_found says MLflow 3 is needed', async () => {
    await h.close();
    h = await startHarness({ major: 2 });

    await expect(h.client.getLoggedModel('m-0b7c5d2f6a9e4f1b8c3d2e1f0a9b8c7d')).rejects.toMatchObject({
      code: 'not_found',
      mlflowCode: 'ENDPOINT_NOT_FOUND',
      message: expect.stringMatching(/MLflow 3 is needed/),
    });
  });
});
