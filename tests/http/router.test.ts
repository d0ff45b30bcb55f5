import { PassThrough } from 'node:stream';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import { errorResponder } from '../../src/http/error-middleware.js';
import { readJsonBody } from '../../src/http/json-body.js';
import { createRouter, type JsonHandler } from '../../src/http/router.js';
import { type Admission, inFlightLimit } from '../../src/http/in-flight-limit.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createLogger } from '../../src/observability/logger.js';
import { aTrip, buildApp, type TestApp } from '../support/app.js';

/** Headers whose values differ per request by design. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'server-timing', 'etag']);

function comparable(res: request.Response) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.has(name)));
  const body = structuredClone(res.body);
  delete body.instance;
  // why: every answer gets its own ride id when the trip has none.
  delete body.ride_id;
  for (const p of body.predictions ?? []) delete p.ride_id;
  return { status: res.status, headers, body };
}

describe('POST /predict: every spelling takes the one typed route', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildApp({ env: { CORS_ORIGINS: 'https://app.example' } });
  });

  test.each([
    ['a valid trip', aTrip({ pickup_datetime: '2021-01-04T08:30:00' })],
    ['an invalid trip', aTrip({ PULocationID: 0 })],
    [
      'a batch',
      { trips: [aTrip({ pickup_datetime: '2021-01-04T08:30:00' }), aTrip({ trip_distance: 3, pickup_datetime: '2021-01-04T08:30:00' })] },
    ],
  ])('When %s is sent, then /predict, /predict?x and /predict/ give the same status, headers and body', async (_name, body) => {
    const direct = await request(t.app).post('/predict').set('Origin', 'https://app.example').send(body);
    const viaExpress = await request(t.app).post('/predict?source=test').set('Origin', 'https://app.example').send(body);
    const trailing = await request(t.app).post('/predict/').set('Origin', 'https://app.example').send(body);

    expect(comparable(viaExpress)).toEqual(comparable(direct));
    expect(comparable(trailing)).toEqual(comparable(direct));
    expect(direct.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(direct.headers['x-content-type-options']).toBe('nosniff');
  });

  test('When malformed JSON is sent, then every spelling answers the same problem document', async () => {
    const send = (path: string) => request(t.app).post(path).set('Content-Type', 'application/json').send('{"PULocationID": 1,');

    const [direct, viaExpress] = [await send('/predict'), await send('/predict?x=1')];

    expect(direct.status).toBe(400);
    expect(comparable(viaExpress)).toEqual(comparable(direct));
  });

  test('When served, then the request is logged and counted under the /predict route', async () => {
    const res = await request(t.app).post('/predict').set('X-Request-ID', 'direct-1').send(aTrip());

    expect(res.status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.logs.find((l) => l.req_id === 'direct-1')).toMatchObject({ route: '/predict', status: 200, method: 'POST' });
    const text = await t.metrics.registry.metrics();
    expect(text).toMatch(/^http_request_duration_seconds_count\{method="POST",route="\/predict",status_code="200"\} \d+$/m);
  });

  test('When another method or path is requested, then Express answers it', async () => {
    expect((await request(t.app).get('/predict')).status).toBe(405);
    expect((await request(t.app).post('/predictx').send(aTrip())).status).toBe(404);
  });
});

describe('createRouter', () => {
  const logger = createLogger({ level: 'silent', destination: { write: () => undefined } });
  const fallback: RequestListener = (_req, res) => {
    res.statusCode = 299;
    res.end('fallback');
  };
  const serve = (handler: JsonHandler, path = '/x') =>
    createRouter({
      routes: [{ path, handler }],
      begin: (_req, _res) => ({ requestId: 'r', startedAt: performance.now(), route: undefined, modelVersion: undefined }),
      admit: () => true,
      readBody: readJsonBody(1024),
      respondError: errorResponder(logger),
      fallback,
    });

  test('When a JSON body is posted, then the handler gets it parsed with the context and its reply is sent', async () => {
    const app = serve((body, ctx) => ({ status: 201, body: JSON.stringify({ got: body, route: ctx.route }), headers: { 'X-Extra': '1' } }));

    const res = await request(app).post('/x').send({ a: 1 });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({ got: { a: 1 }, route: '/x' });
    expect(res.headers['x-extra']).toBe('1');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test.each([
    [
      'throws',
      (() => {
        throw new Error('secret detail');
      }) as JsonHandler,
    ],
    [
      'rejects',
      (async () => {
        throw new Error('secret detail');
      }) as JsonHandler,
    ],
  ])('When a handler %s, then the error responder answers 500 without the message', async (_name, handler) => {
    const res = await request(serve(handler)).post('/x').send({});

    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.text).not.toContain('secret detail');
  });

  test('When a request is answered, an error answered or a request shed, then each answer carries the base headers', async () => {
    const app = (handler: JsonHandler, admit: Admission = () => true) =>
      createRouter({
        routes: [{ path: '/x', handler }],
        begin: () => ({ requestId: 'req-7', startedAt: performance.now(), route: undefined, modelVersion: undefined }),
        baseHeaders: (ctx) => ['X-Base', 'on', 'X-Request-ID', ctx.requestId],
        admit,
        readBody: readJsonBody(1024),
        respondError: errorResponder(logger),
        fallback,
      });
    const shedding = inFlightLimit(1, createMetrics(undefined, { defaultMetrics: false }));
    shedding(new PassThrough() as never); // holds the one slot

    const answers = [
      await request(app(() => ({ body: '{}', headers: { 'X-Extra': '1' } })))
        .post('/x')
        .send({}),
      await request(app(() => ({ body: '{}' })))
        .post('/x')
        .set('Content-Type', 'application/json')
        .send('{'),
      await request(app(() => ({ body: '{}' }), shedding))
        .post('/x')
        .send({}),
    ];

    expect(answers.map((r) => r.status)).toEqual([200, 400, 503]);
    for (const res of answers) expect([res.headers['x-base'], res.headers['x-request-id']]).toEqual(['on', 'req-7']);
    expect(answers[0].headers['x-extra']).toBe('1');
    expect(answers[2].headers['retry-after']).toBe('1');
  });

  test('When the method or the path differs, then the fallback listener serves the request; every spelling Express accepts is served', async () => {
    const app = serve(() => ({ body: '"direct"' }));

    expect((await request(app).get('/x')).status).toBe(299);
    expect((await request(app).post('/y').send({})).status).toBe(299);
    expect((await request(app).post('/x/y').send({})).status).toBe(299);
    for (const path of ['/x', '/x/', '/X', '/x?q=1', '/X/?q=1']) {
      expect((await request(app).post(path).send({})).text, path).toBe('"direct"');
    }
  });

  test('When a route has parameters, then they are matched per segment and passed decoded, in their own case', async () => {
    const app = serve((_body, _ctx, _req, params) => ({ body: JSON.stringify(params) }), '/v2/models/:model/versions/:version/infer');

    expect((await request(app).post('/v2/models/Taxi%20Ride/versions/4/INFER').send({})).body).toEqual({
      model: 'Taxi Ride',
      version: '4',
    });
    expect((await request(app).post('/v2/models//versions/4/infer').send({})).status).toBe(299);
  });
});
