import request from 'supertest';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startFakeMlflow, type FakeMlflow } from '../support/mlflow-fake-server.js';
import { waitFor } from '../support/ports.js';
import {
  ADMIN_TOKEN,
  EMBEDDED_V1,
  EMBEDDED_V2,
  FIXTURE_BROKEN,
  NAME,
  readDir,
  registerModelDir,
  startMlflowService,
  tempDir,
  type MlflowService,
} from '../support/mlflow-service.js';

let fake: FakeMlflow;
let cache: { path: string; remove: () => Promise<void> };
const services: MlflowService[] = [];
const start = (env: Record<string, string> = {}) => {
  const s = startMlflowService(fake, { MODEL_CACHE_DIR: cache.path, ...env });
  services.push(s);
  return s;
};
const TRIP = { PULocationID: 10, DOLocationID: 50, trip_distance: 4 };

beforeEach(async () => {
  fake = await startFakeMlflow({ major: 2 });
  cache = await tempDir('svc-mlflow-cache-');
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  await fake.close();
  await cache.remove();
});

describe('service with an MLflow registry', () => {
  test('When the alias resolves, then the service serves that version and says where it came from', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    const svc = start();

    await svc.started;
    const predicted = await request(svc.app).post('/predict').send(TRIP);
    const model = await request(svc.app).get('/model');

    expect(predicted).toMatchObject({ status: 200, body: { model_version: `${NAME}/1`, duration: expect.any(Number) } });
    expect(model.body).toMatchObject({ name: NAME, version: '1', alias: 'production', stale: false, feature_set: 'base' });
    expect(svc.logs).toContainEqual(
      expect.objectContaining({ msg: 'model loaded and warmed up; ready', model_version: `${NAME}/1`, stale: false }),
    );
  });

  test('When the alias does not exist, then start-up fails with an error naming the alias and the model', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    const svc = start({ MODEL_URI: `models:/${NAME}@nope` });

    const err = await svc.started.catch((e: unknown) => e);

    expect(err).toMatchObject({
      reason: 'resolve',
      transient: false,
      cause: { code: 'not_found' },
      message: `alias "nope" of registered model "${NAME}" not found: the alias is not set or the model does not exist`,
    });
    expect(svc.predictor.model).toBeUndefined();
  });

  test('When the registry is down at start-up with a cached version, then the cached version serves, marked stale in the log, /model and model_info', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    await start().started;
    await fake.down();

    const svc = start();
    await svc.started;
    const model = await request(svc.app).get('/model');
    const metrics = await request(svc.app).get('/metrics');
    const predicted = await request(svc.app).post('/predict').send(TRIP);

    expect(model.body).toMatchObject({ version: '1', stale: true });
    expect(metrics.text).toContain(`model_info{name="${NAME}",version="1",alias="production",stale="true"} 1`);
    expect(predicted.body.model_version).toBe(`${NAME}/1`);
    expect(svc.logs).toContainEqual(expect.objectContaining({ level: 40, msg: 'model loaded and warmed up; ready', stale: true }));
  });

  test('When the registry comes back while a stale copy serves, then the poller replaces it with a fresh resolution', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    await start().started;
    await fake.down();
    const svc = start({ MODEL_POLL_INTERVAL_S: '0.1' });
    await svc.started;

    await fake.up();
    await waitFor(async () => (svc.predictor.model?.stale === false ? true : undefined), 'the stale model to be refreshed', 10_000);
    const metrics = await request(svc.app).get('/metrics');

    expect(metrics.text).toContain(`model_info{name="${NAME}",version="1",alias="production",stale="false"} 1`);
    expect(metrics.text).not.toContain('stale="true"');
  });

  test('When the registry is down at start-up without a cache, then the service is live but not ready, retries, and is ready once the registry is back', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    await fake.down();
    const svc = start();

    await waitFor(
      async () => (svc.logs.some((l) => l.msg === 'model registry unreachable and no cached copy; not ready, retrying') ? true : undefined),
      'a retry',
    );
    const live = await request(svc.app).get('/healthz');
    const notReady = await request(svc.app).get('/readyz');
    await fake.up();
    await svc.started;
    const ready = await request(svc.app).get('/readyz');

    expect(live.status).toBe(200);
    expect(notReady).toMatchObject({
      status: 503,
      body: { status: 'not_ready', reason: expect.stringMatching(/registry cannot be reached; retrying/) },
    });
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready', model_version: `${NAME}/1` } });
    expect(
      svc.logs.filter((l) => l.msg === 'model registry unreachable and no cached copy; not ready, retrying').length,
    ).toBeGreaterThanOrEqual(1);
  });

  test('When a new version is corrupt or has the wrong signature, then it is refused, counted by reason, and the old version keeps serving', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    const svc = start({ ADMIN_TOKEN });
    await svc.started;
    const corrupt = { ...(await readDir(EMBEDDED_V1)), 'model.onnx': Buffer.from('this is not an onnx model') };
    const v2 = await registerModelDir(fake, corrupt);
    const v3 = await registerModelDir(fake, FIXTURE_BROKEN);
    const reload = () => request(svc.app).post('/admin/reload').set('Authorization', `Bearer ${ADMIN_TOKEN}`);

    fake.setAlias(NAME, 'production', v2);
    const corruptReload = await reload();
    const afterCorrupt = await request(svc.app).post('/predict').send(TRIP);
    fake.setAlias(NAME, 'production', v3);
    const brokenReload = await reload();
    const afterBroken = await request(svc.app).post('/predict').send(TRIP);
    const metrics = await request(svc.app).get('/metrics');

    expect(corruptReload).toMatchObject({
      status: 502,
      type: 'application/problem+json',
      body: { detail: expect.stringMatching(/reload refused; the current model keeps serving: cannot load/) },
    });
    expect(brokenReload).toMatchObject({
      status: 502,
      body: { detail: expect.stringMatching(/match no feature set|must be a float32 tensor/) },
    });
    expect(afterCorrupt.body.model_version).toBe(`${NAME}/1`);
    expect(afterBroken.body.model_version).toBe(`${NAME}/1`);
    expect(metrics.text).toContain('model_load_failures_total{reason="session"} 1');
    expect(metrics.text).toContain('model_load_failures_total{reason="signature"} 1');
    expect(metrics.text).toContain(`model_info{name="${NAME}",version="1",alias="production",stale="false"} 1`);
  });
});

describe('alias poller', () => {
  test('When the alias moves to a refused version, then the poller counts it once and does not retry it until the alias moves again', async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
    const svc = start({ MODEL_POLL_INTERVAL_S: '0.05' });
    await svc.started;
    const bad = await registerModelDir(fake, FIXTURE_BROKEN);
    const good = await registerModelDir(fake, EMBEDDED_V2);

    const aliasLookups = () => fake.requests.filter((r) => r.path === '/api/2.0/mlflow/registered-models/alias').length;
    fake.setAlias(NAME, 'production', bad);
    await waitFor(
      async () => (svc.logs.some((l) => l.level === 50 && /new model version refused/.test(l.msg)) ? true : undefined),
      'the refusal',
    );
    // why: three more polls that saw the refused version; had any of them loaded it again, the count would be above 1.
    const afterRefusal = aliasLookups();
    await waitFor(async () => (aliasLookups() >= afterRefusal + 3 ? true : undefined), 'three more polls of the alias');
    const failuresWhileBad = (await request(svc.app).get('/metrics')).text.match(
      /model_load_failures_total\{reason="signature"\} (\d+)/,
    )?.[1];
    fake.setAlias(NAME, 'production', good);
    await waitFor(async () => (svc.predictor.model?.version === good ? true : undefined), 'the swap to the good version');

    expect(failuresWhileBad).toBe('1');
    expect((await request(svc.app).post('/predict').send(TRIP)).body.model_version).toBe(`${NAME}/${good}`);
  });
});

describe('POST /admin/reload', () => {
  beforeEach(async () => {
    await registerModelDir(fake, EMBEDDED_V1, ['production']);
  });

  test('When ADMIN_TOKEN is not configured, then the route does not exist', async () => {
    const svc = start();
    await svc.started;

    const res = await request(svc.app).post('/admin/reload').set('Authorization', `Bearer ${ADMIN_TOKEN}`);

    expect(res).toMatchObject({ status: 404, type: 'application/problem+json' });
  });

  test.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${ADMIN_TOKEN}x`],
    ['a Basic header', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
  ])('When the request has %s, then it is 401 problem+json and nothing reloads', async (_what, header) => {
    const svc = start({ ADMIN_TOKEN });
    await svc.started;
    const before = fake.requests.length;

    const req = request(svc.app).post('/admin/reload');
    const res = await (header ? req.set('Authorization', header) : req);

    expect(res).toMatchObject({
      status: 401,
      type: 'application/problem+json',
      body: { type: 'urn:taxi-ride-duration:problem:unauthorized', status: 401 },
    });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="admin"');
    expect(fake.requests.length).toBe(before);
  });

  test('When the token is right, then it answers unchanged, and swapped once the alias has moved', async () => {
    const svc = start({ ADMIN_TOKEN });
    await svc.started;
    const reload = () => request(svc.app).post('/admin/reload').set('Authorization', `Bearer ${ADMIN_TOKEN}`);

    const unchanged = await reload();
    fake.setAlias(NAME, 'production', await registerModelDir(fake, EMBEDDED_V2));
    const swapped = await reload();
    const predicted = await request(svc.app).post('/predict').send(TRIP);

    expect(unchanged).toMatchObject({
      status: 200,
      body: { status: 'unchanged', model_version: `${NAME}/1`, previous_model_version: `${NAME}/1` },
    });
    expect(swapped).toMatchObject({
      status: 200,
      body: { status: 'swapped', model_version: `${NAME}/2`, previous_model_version: `${NAME}/1` },
    });
    expect(predicted.body.model_version).toBe(`${NAME}/2`);
    expect((await request(svc.app).get('/metrics')).text).toMatch(/model_info\{[^}]*version="2"[^}]*\} 1/);
    expect((await request(svc.app).get('/metrics')).text).not.toMatch(/model_info\{[^}]*version="1"/);
  });
});
