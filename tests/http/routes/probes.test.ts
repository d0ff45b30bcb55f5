import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import { aTrip, buildApp, type TestApp } from '../../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildApp();
});

describe('GET /healthz', () => {
  test('When the process is up, then it is 200 even without a model', async () => {
    const empty = await buildApp({ model: null });

    const res = await request(empty.app).get('/healthz');

    expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('GET /readyz', () => {
  test('When a model is loaded, then it is 200 with its version', async () => {
    const res = await request(t.app).get('/readyz');

    expect(res).toMatchObject({ status: 200, body: { status: 'ready', model_version: t.slot.current!.info.modelVersion } });
  });

  test('When no model is loaded, then it is 503 with a reason and Retry-After', async () => {
    const empty = await buildApp({ model: null });

    const res = await request(empty.app).get('/readyz');

    expect(res).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'no model is loaded yet' } });
    expect(res.headers['retry-after']).toBe('1');
  });

  test('When the server is draining, then it is 503 while predictions still work', async () => {
    const draining = await buildApp({ model: t.slot.current! });
    draining.lifecycle.draining = true;

    const ready = await request(draining.app).get('/readyz');
    const predict = await request(draining.app).post('/predict').send(aTrip());

    expect(ready).toMatchObject({ status: 503, body: { status: 'draining' } });
    expect(predict.status).toBe(200);
  });
});

describe('GET /model', () => {
  test('When a model is loaded, then it describes name, version, alias, signature, training metrics and load time', async () => {
    const res = await request(t.app).get('/model');

    const info = t.slot.current!.info;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'taxi-ride-duration',
      version: info.version,
      alias: 'production',
      model_version: `taxi-ride-duration/${info.version}`,
      feature_set: 'time',
      signature: {
        inputs: [
          { name: 'PULocationID', type: 'int64' },
          { name: 'DOLocationID', type: 'int64' },
          { name: 'trip_distance', type: 'float32' },
          { name: 'pickup_hour', type: 'int64' },
          { name: 'pickup_dow', type: 'int64' },
        ],
        outputs: info.outputs,
      },
      metrics: info.training?.metrics,
      trained_at: info.training?.created_at,
      loaded_at: info.loadedAt.toISOString(),
      stale: false,
      stale_reason: null,
    });
    expect(info.outputs.map((o) => o.name)).toEqual(info.intervals ? ['duration', 'duration_p10', 'duration_p90'] : ['duration']);
    expect(res.body.metrics).toEqual(expect.any(Object));
  });

  test('When no model is loaded, then it is 503', async () => {
    const empty = await buildApp({ model: null });

    const res = await request(empty.app).get('/model');

    expect(res.status).toBe(503);
    expect(res.body.type).toBe('urn:taxi-ride-duration:problem:model_not_ready');
  });
});

describe('unknown routes and methods', () => {
  test('When the route does not exist, then it is 404 problem+json', async () => {
    const res = await request(t.app).get('/predict/../../etc/passwd?x=1');

    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toMatchObject({
      type: 'urn:taxi-ride-duration:problem:not_found',
      status: 404,
      instance: res.headers['x-request-id'],
    });
  });

  test.each([
    ['get', '/predict', 'POST'],
    ['put', '/predict', 'POST'],
    ['delete', '/model', 'GET, HEAD'],
    ['post', '/healthz', 'GET, HEAD'],
    ['post', '/readyz', 'GET, HEAD'],
    ['patch', '/metrics', 'GET, HEAD'],
  ] as const)('When %s %s, then it is 405 with Allow: %s', async (method, path, allow) => {
    const res = await request(t.app)[method](path);

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toMatchObject({ type: 'urn:taxi-ride-duration:problem:method_not_allowed', status: 405 });
  });

  test('When OPTIONS is sent without CORS, then it is 204 with Allow', async () => {
    const res = await request(t.app).options('/predict');

    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe('POST');
  });

  test('When HEAD /healthz is sent, then it is 200 with no body', async () => {
    const res = await request(t.app).head('/healthz');

    expect(res.status).toBe(200);
    expect(res.text).toBeUndefined();
  });

  test('When responses are sent, then they carry no X-Powered-By and no ETag', async () => {
    const res = await request(t.app).get('/model');

    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
  });
});
