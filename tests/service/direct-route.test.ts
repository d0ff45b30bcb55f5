import type { RequestListener } from 'node:http';
import type { RequestHandler } from 'express';
import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import { withDirectRoute } from '../../src/http/direct-route.js';
import { errorMiddleware } from '../../src/http/error-middleware.js';
import { createLogger } from '../../src/observability/logger.js';
import { aTrip, buildApp, type TestApp } from './helpers.js';

/** Headers whose values differ per request by design. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'server-timing', 'etag']);

function comparable(res: request.Response) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.has(name)));
  const body = { ...res.body };
  delete body.instance;
  return { status: res.status, headers, body };
}

describe('POST /predict outside the Express router', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildApp({ env: { CORS_ORIGINS: 'https://app.example' } });
  });

  // '/predict/' and a query string are matched by Express, not by the direct route: the two paths must agree.
  test.each([
    ['a valid trip', aTrip({ pickup_datetime: '2021-01-04T08:30:00' })],
    ['an invalid trip', aTrip({ PULocationID: 0 })],
    ['a batch', { trips: [aTrip({ pickup_datetime: '2021-01-04T08:30:00' }), aTrip({ trip_distance: 3, pickup_datetime: '2021-01-04T08:30:00' })] }],
  ])('When %s is sent, then the direct route and the Express route give the same status, headers and body', async (_name, body) => {
    const direct = await request(t.app).post('/predict').set('Origin', 'https://app.example').send(body);
    const viaExpress = await request(t.app).post('/predict?source=test').set('Origin', 'https://app.example').send(body);
    const trailing = await request(t.app).post('/predict/').set('Origin', 'https://app.example').send(body);

    expect(comparable(viaExpress)).toEqual(comparable(direct));
    expect(comparable(trailing)).toEqual(comparable(direct));
    expect(direct.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(direct.headers['x-content-type-options']).toBe('nosniff');
  });

  test('When malformed JSON is sent, then both routes answer the same problem document', async () => {
    const send = (path: string) => request(t.app).post(path).set('Content-Type', 'application/json').send('{"PULocationID": 1,');

    const [direct, viaExpress] = [await send('/predict'), await send('/predict?x=1')];

    expect(direct.status).toBe(400);
    expect(comparable(viaExpress)).toEqual(comparable(direct));
  });

  test('When served directly, then the request is logged and counted under the /predict route', async () => {
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

describe('withDirectRoute', () => {
  const logger = createLogger({ level: 'silent', destination: { write: () => undefined } });
  const fallback: RequestListener = (_req, res) => {
    res.statusCode = 299;
    res.end('fallback');
  };
  const serve = (handlers: RequestHandler[]) =>
    withDirectRoute({ method: 'POST', path: '/x', handlers, onError: errorMiddleware(logger) }, fallback);

  test('When handlers call next(), then they run in order and the last one answers', async () => {
    const order: string[] = [];
    const app = serve([
      (_req, res, next) => {
        order.push('a');
        res.locals.seen = 'a';
        next();
      },
      (req, res) => {
        order.push(`b after ${res.locals.seen}, route ${req.route.path}`);
        res.end('done');
      },
    ]);

    const res = await request(app).post('/x');

    expect(res.text).toBe('done');
    expect(order).toEqual(['a', 'b after a, route /x']);
  });

  test.each([
    ['throws', (() => {
      throw new Error('secret detail');
    }) as RequestHandler],
    ['rejects', (async () => {
      throw new Error('secret detail');
    }) as RequestHandler],
    ['passes an error to next', ((_req, _res, next) => next(new Error('secret detail'))) as RequestHandler],
  ])('When a handler %s, then the error handler answers 500 without the message', async (_name, handler) => {
    const res = await request(serve([handler])).post('/x');

    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.text).not.toContain('secret detail');
  });

  test('When the method or the path differs, then the fallback listener serves the request', async () => {
    const app = serve([(_req, res) => res.end('direct')]);

    expect((await request(app).get('/x')).status).toBe(299);
    expect((await request(app).post('/x/')).status).toBe(299);
    expect((await request(app).post('/x')).text).toBe('direct');
  });
});
