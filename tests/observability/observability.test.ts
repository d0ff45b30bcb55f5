import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import { aTrip, buildApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildApp({ logLevel: 'info' });
});

const requestLines = (app: TestApp) => app.logs.filter((l) => l.msg === 'request');

describe('request id', () => {
  test('When X-Request-ID is sent, then it is echoed in the header, the problem and the log', async () => {
    const res = await request(t.app)
      .post('/predict')
      .set('X-Request-ID', 'abc-123.client')
      .send(aTrip({ PULocationID: 0 }));

    expect(res.headers['x-request-id']).toBe('abc-123.client');
    expect(res.body.instance).toBe('abc-123.client');
    expect(requestLines(t).at(-1)).toMatchObject({ req_id: 'abc-123.client' });
  });

  test('When no X-Request-ID (or an unusable one) is sent, then a UUID is generated', async () => {
    const none = await request(t.app).get('/healthz');
    const bad = await request(t.app).get('/healthz').set('X-Request-ID', 'x'.repeat(300));

    for (const res of [none, bad]) expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers['x-request-id']).not.toBe(bad.headers['x-request-id']);
  });
});

describe('request logs', () => {
  test('When a prediction is served, then one JSON line has id, method, route, status, latency and model version', async () => {
    const before = requestLines(t).length;

    const res = await request(t.app).post('/predict').send(aTrip());

    const lines = requestLines(t).slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      service: 'taxi-ride-duration',
      req_id: res.headers['x-request-id'],
      method: 'POST',
      route: '/predict',
      status: 200,
      latency_ms: expect.any(Number),
      model_version: t.slot.current!.info.modelVersion,
    });
  });

  test('When a prediction is refused with 422, then its line names the invalid fields and the time is ISO 8601', async () => {
    const before = requestLines(t).length;

    await request(t.app)
      .post('/predict')
      .send({ trips: [aTrip(), aTrip({ trip_distance: -1, DOLocationID: 'x' })] });

    const [line] = requestLines(t).slice(before);
    expect(line).toMatchObject({ status: 422, invalid_fields: ['trips[1].DOLocationID', 'trips[1].trip_distance'] });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('When probes are called, then they are not logged at info', async () => {
    const before = requestLines(t).length;

    await request(t.app).get('/healthz');
    await request(t.app).get('/readyz');
    await request(t.app).get('/metrics');

    expect(requestLines(t).length).toBe(before);
  });

  test('When probes are called at debug level, then they are logged at debug', async () => {
    const debug = await buildApp({ model: t.slot.current!, logLevel: 'debug' });

    await request(debug.app).get('/healthz');

    expect(requestLines(debug)).toEqual([expect.objectContaining({ level: 20, route: '/healthz', status: 200 })]);
  });

  test('When the route is unknown, then the log has the route "unmatched" and the path', async () => {
    await request(t.app).get('/wp-admin/setup.php');

    expect(requestLines(t).at(-1)).toMatchObject({ route: 'unmatched', path: '/wp-admin/setup.php', status: 404 });
  });
});

describe('GET /metrics', () => {
  test('When scraped after traffic, then every service metric is exposed in Prometheus text format', async () => {
    const fresh = await buildApp({ model: t.slot.current! });
    await request(fresh.app).post('/predict').send(aTrip());
    await request(fresh.app)
      .post('/predict')
      .send({ trips: [aTrip(), aTrip(), aTrip()] });
    await request(fresh.app)
      .post('/predict')
      .send(aTrip({ trip_distance: -5 }));
    await request(fresh.app).get('/no/such/route');

    const res = await request(fresh.app).get('/metrics');

    const v = fresh.slot.current!.info.modelVersion;
    const info = fresh.slot.current!.info;
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of [
      `http_request_duration_seconds_bucket{le="0.0001",method="POST",route="/predict",status_code="200"}`,
      `http_request_duration_seconds_count{method="POST",route="/predict",status_code="200"} 2`,
      `http_request_duration_seconds_count{method="POST",route="/predict",status_code="422"} 1`,
      `http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1`,
      `http_request_duration_seconds_bucket{le="10",method="POST",route="/predict",status_code="200"} 2`,
      `predictions_total{model_version="${v}",outcome="success"} 2`,
      `predictions_total{model_version="none",outcome="invalid"} 1`,
      `inference_duration_seconds_count{model_version="${v}"} 2`,
      `prediction_batch_size_count 2`,
      `prediction_batch_size_sum 4`,
      `model_info{name="taxi-ride-duration",version="${info.version}",alias="production",stale="false"} 1`,
      `predicted_duration_minutes_count{model_version="${v}"} 4`,
      '# TYPE model_load_duration_seconds histogram',
      '# TYPE model_load_failures_total counter',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(res.text).toContain(line);
    }
  });
});

describe('CORS', () => {
  test('When CORS_ORIGINS lists an origin, then its preflight is answered with the allowed headers', async () => {
    const cors = await buildApp({ model: t.slot.current!, env: { CORS_ORIGINS: 'https://app.example.com, https://other.example.com' } });

    const res = await request(cors.app)
      .options('/predict')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,x-request-id');

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-headers']).toBe('Content-Type,X-Request-ID,traceparent,tracestate');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
  });

  test('When a preflight is answered, then its metric and log line carry the route it preflights', async () => {
    const cors = await buildApp({ model: t.slot.current!, env: { CORS_ORIGINS: 'https://app.example.com' }, logLevel: 'info' });

    await request(cors.app).options('/predict/').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST');
    await request(cors.app).options('/model').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET');
    await request(cors.app).options('/nowhere').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET');

    const text = await cors.metrics.registry.metrics();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="OPTIONS",route="\/predict",status_code="204"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="OPTIONS",route="\/model",status_code="204"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="OPTIONS",route="unmatched",status_code="204"\} 1/);
    expect(requestLines(cors).map((l) => l.route)).toEqual(['/predict', '/model', 'unmatched']);
  });

  test('When an allowed origin posts, then X-Request-ID is exposed to it', async () => {
    const cors = await buildApp({ model: t.slot.current!, env: { CORS_ORIGINS: 'https://app.example.com' } });

    const res = await request(cors.app).post('/predict').set('Origin', 'https://app.example.com').send(aTrip());

    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-expose-headers']).toBe('X-Request-ID,Retry-After,Allow,Server-Timing');
    expect(res.headers['timing-allow-origin']).toBe('https://app.example.com');
  });

  test('When the origin is not listed, or CORS_ORIGINS is unset, then no CORS header allows it', async () => {
    const cors = await buildApp({ model: t.slot.current!, env: { CORS_ORIGINS: 'https://app.example.com' } });

    const other = await request(cors.app).post('/predict').set('Origin', 'https://evil.example.com').send(aTrip());
    const off = await request(t.app).post('/predict').set('Origin', 'https://app.example.com').send(aTrip());

    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['timing-allow-origin']).toBeUndefined();
    expect(off.headers['access-control-allow-origin']).toBeUndefined();
    expect(off.headers['timing-allow-origin']).toBeUndefined();
  });
});
