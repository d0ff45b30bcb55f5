import { createServer, request as httpRequest, type RequestListener } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import { newYorkHourAndDow } from '../../../src/features/pickup-time.js';
import { aTrip, buildApp, fakeModel, predictDirectly, type TestApp } from '../../support/app.js';

// why a pinned clock: trips without a pickup time are predicted for "now"; a test that reads the
// clock separately from the service could straddle an hour boundary.
const NOW = Date.parse('2021-03-10T17:20:00Z');
let t: TestApp;
let modelVersion: string;
beforeAll(async () => {
  t = await buildApp({ now: () => NOW });
  modelVersion = t.slot.current!.info.modelVersion;
});

/** Sends the body in chunks without a Content-Length (Transfer-Encoding: chunked). */
async function postChunked(app: RequestListener, chunks: string[]): Promise<{ status: number; body: { detail: string } }> {
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return await new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          method: 'POST',
          path: '/predict',
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  } finally {
    server.close();
  }
}

/** Writes `bytes` on one connection and returns everything the server sends until it closes it. */
async function rawExchange(app: RequestListener, bytes: string): Promise<string> {
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return await new Promise((resolve) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(bytes));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      // a reset is an outcome here: what arrived before it is the answer
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
  } finally {
    server.close();
  }
}

const post = (body: unknown) =>
  request(t.app)
    .post('/predict')
    .send(body as object);

describe('POST /predict, one trip', () => {
  test("When the course's request is sent, then it returns the model's duration and version", async () => {
    const now = newYorkHourAndDow(NOW);
    const [expected] = await predictDirectly([
      { PULocationID: 10, DOLocationID: 50, trip_distance: 40, pickup_hour: now.hour, pickup_dow: now.dow },
    ]);

    const res = await post({ PULocationID: 10, DOLocationID: 50, trip_distance: 40 });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ ...expected, model_version: modelVersion, ride_id: expect.any(String) });
    expect(expected.duration_p10).toBeLessThanOrEqual(expected.duration);
    expect(modelVersion).toMatch(/^taxi-ride-duration\/\d+$/);
  });

  test.each([[256], ['2021/02_17'], ['a.b_c:d/e-F9'], [0]])(
    'When the trip carries ride_id %j, then the answer echoes it as sent',
    async (rideId) => {
      const res = await post(aTrip({ ride_id: rideId }));

      expect(res.status).toBe(200);
      expect(res.body.ride_id).toStrictEqual(rideId);
    },
  );

  test('When trips carry no ride_id, then each answer gets a different one', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await post(aTrip())).body.ride_id);
    const batch = await post({ trips: [aTrip(), aTrip()] });
    for (const p of batch.body.predictions) ids.add(p.ride_id);

    expect(ids.size).toBe(7);
  });

  test.each([[-1], [1.5], [''], ['x'.repeat(65)], ['has space'], ['ü'], [true], [{}], [[1]], [2 ** 60]])(
    'When ride_id is %j, then it is 422 naming ride_id',
    async (rideId) => {
      const res = await post(aTrip({ ride_id: rideId }));

      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field: 'ride_id', message: expect.stringContaining('non-negative integer') }]);
    },
  );

  test('When pickup_datetime is given, then the time inputs come from it in New York time', async () => {
    // 2021-01-04 13:30Z is Monday 08:30 in New York
    const [expected] = await predictDirectly([
      { PULocationID: 132, DOLocationID: 236, trip_distance: 17.5, pickup_hour: 8, pickup_dow: 0 },
    ]);

    const res = await post({ PULocationID: 132, DOLocationID: 236, trip_distance: 17.5, pickup_datetime: '2021-01-04T13:30:00Z' });

    expect(res).toMatchObject({ status: 200, body: expected });
  });

  test('When the trip has extra fields, then they are ignored', async () => {
    const plain = await post(aTrip({ pickup_datetime: '2021-01-04T08:30:00', ride_id: 1 }));
    const extra = await post(aTrip({ pickup_datetime: '2021-01-04T08:30:00', ride_id: 1, VendorID: 2, fare_amount: 12.5, note: 'x' }));

    expect(extra.status).toBe(200);
    expect(extra.body).toEqual(plain.body);
  });

  test('When the distance is 0 and the zones are at the bounds, then it is a valid trip', async () => {
    const res = await post({ PULocationID: 1, DOLocationID: 265, trip_distance: 0 });

    expect(res.status).toBe(200);
    expect(Number.isFinite(res.body.duration)).toBe(true);
  });
  test('When a prediction is answered, then Server-Timing gives the inference and total server time', async () => {
    const res = await post(aTrip());

    expect(res.status).toBe(200);
    const match = /^inference;dur=(\d+\.\d{3}), total;dur=(\d+\.\d{3})$/.exec(res.headers['server-timing']);
    expect(match).not.toBeNull();
    expect(Number(match![2])).toBeGreaterThanOrEqual(Number(match![1]));
  });
});

describe('POST /predict, a batch', () => {
  test('When trips are sent, then predictions come back in request order from one model run', async () => {
    const trips = [
      { PULocationID: 10, DOLocationID: 50, trip_distance: 40, pickup_datetime: '2021-01-04T08:30:00' },
      { PULocationID: 161, DOLocationID: 236, trip_distance: 1.2, pickup_datetime: '2021-01-09T23:10:00' },
      { PULocationID: 138, DOLocationID: 230, trip_distance: 10.3, pickup_datetime: '2021-01-06T17:45:00' },
    ];
    const expected = await predictDirectly([
      { PULocationID: 10, DOLocationID: 50, trip_distance: 40, pickup_hour: 8, pickup_dow: 0 },
      { PULocationID: 161, DOLocationID: 236, trip_distance: 1.2, pickup_hour: 23, pickup_dow: 5 },
      { PULocationID: 138, DOLocationID: 230, trip_distance: 10.3, pickup_hour: 17, pickup_dow: 2 },
    ]);

    const res = await post({ trips });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ predictions: expected.map((p) => ({ ...p, ride_id: expect.any(String) })), model_version: modelVersion });
    expect(new Set(expected.map((p) => p.duration)).size).toBe(3);
  });

  test('When the batch has MAX_BATCH trips, then all are predicted', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { MAX_BATCH: '50' } });

    const res = await request(small.app)
      .post('/predict')
      .send({ trips: Array.from({ length: 50 }, () => aTrip()) });

    expect(res.status).toBe(200);
    expect(res.body.predictions).toHaveLength(50);
  });

  test('When the batch has more than MAX_BATCH trips, then it is 413', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { MAX_BATCH: '50' } });

    const res = await request(small.app)
      .post('/predict')
      .send({ trips: Array.from({ length: 51 }, () => aTrip()) });

    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body.detail).toBe('the batch has 51 trips; the limit is 50');
  });

  test('When trips is empty or not an array, then it is 422 naming trips', async () => {
    for (const trips of [[], 'abc', { a: 1 }, null]) {
      const res = await post({ trips });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field: 'trips', message: expect.stringContaining('non-empty array') }]);
    }
  });

  test('When some trips are invalid, then each bad field is named with its index', async () => {
    const res = await post({
      trips: [aTrip(), aTrip({ trip_distance: -1 }), aTrip(), aTrip({ PULocationID: 300, pickup_datetime: 'yesterday' }), 7],
    });

    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'trips[1].trip_distance',
      'trips[3].PULocationID',
      'trips[3].pickup_datetime',
      'trips[4]',
    ]);
  });

  test('When thousands of trips are invalid, then the error list is capped', async () => {
    const res = await post({ trips: Array.from({ length: 500 }, () => aTrip({ PULocationID: 0 })) });

    expect(res.status).toBe(422);
    expect(res.body.errors).toHaveLength(100);
    expect(res.body.detail).toBe('500 invalid fields (the first 100 are listed)');
  });
});

describe('POST /predict, invalid fields are 422 problem+json', () => {
  test.each([
    ['PULocationID', { PULocationID: 0 }, 'must be an integer zone ID from 1 to 265, got 0'],
    ['PULocationID', { PULocationID: 266 }, 'must be an integer zone ID from 1 to 265, got 266'],
    ['DOLocationID', { DOLocationID: 10.5 }, 'must be an integer zone ID from 1 to 265, got 10.5'],
    ['DOLocationID', { DOLocationID: '50' }, 'must be an integer zone ID from 1 to 265, got a string'],
    ['PULocationID', { PULocationID: undefined }, 'is required: an integer zone ID from 1 to 265'],
    ['trip_distance', { trip_distance: -0.1 }, 'must be a number of miles from 0 to 200, got -0.1'],
    ['trip_distance', { trip_distance: 200.5 }, 'must be a number of miles from 0 to 200, got 200.5'],
    ['trip_distance', { trip_distance: 'NaN' }, 'must be a number of miles from 0 to 200, got a string'],
    ['trip_distance', { trip_distance: null }, 'must be a number of miles from 0 to 200, got null'],
    ['trip_distance', { trip_distance: [1] }, 'must be a number of miles from 0 to 200, got an array'],
    ['pickup_datetime', { pickup_datetime: '2021-02-30T10:00:00' }, expect.stringContaining('ISO 8601')],
    ['pickup_datetime', { pickup_datetime: 1609459200 }, expect.stringContaining('ISO 8601')],
  ])('When %s is %j, then the error names it', async (field, override, message) => {
    const res = await post(aTrip(override));

    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toEqual({
      type: 'urn:taxi-ride-duration:problem:invalid_input',
      title: 'Invalid input',
      status: 422,
      detail: '1 invalid field',
      instance: res.headers['x-request-id'],
      errors: [{ field, message }],
    });
  });

  test('When the distance overflows to Infinity (1e400), then it is 422', async () => {
    const res = await request(t.app)
      .post('/predict')
      .set('Content-Type', 'application/json')
      .send('{"PULocationID":1,"DOLocationID":2,"trip_distance":1e400}');

    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('trip_distance');
  });

  test('When the body is not an object, then it is 422 on the body', async () => {
    for (const body of ['[1,2]', '"text"', '42', 'null']) {
      const res = await request(t.app).post('/predict').set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(422);
      expect(res.body.errors[0].field).toBe('(body)');
    }
  });

  test('When a field is named __proto__ or constructor, then it is only an extra field', async () => {
    const res = await request(t.app)
      .post('/predict')
      .set('Content-Type', 'application/json')
      .send('{"__proto__":{"PULocationID":5},"constructor":{"prototype":{"x":1}},"DOLocationID":2,"trip_distance":1}');

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'PULocationID', message: expect.stringContaining('is required') }]);
  });
});

describe('POST /predict, body errors', () => {
  test('When the JSON is malformed, then it is 400', async () => {
    const res = await request(t.app).post('/predict').set('Content-Type', 'application/json').send('{"PULocationID": 1,');

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'urn:taxi-ride-duration:problem:malformed_json', status: 400 });
    expect(res.body.detail).toMatch(/^the request body is not valid JSON/);
  });

  test('When the body is empty, then it is 400', async () => {
    const res = await request(t.app).post('/predict').set('Content-Type', 'application/json');

    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('the request body is empty; send a JSON object');
  });

  test.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1']])(
    'When the content type is %s, then it is 415',
    async (type) => {
      const res = await request(t.app).post('/predict').set('Content-Type', type).send(JSON.stringify(aTrip()));

      expect(res.status).toBe(415);
      expect(res.body.type).toBe('urn:taxi-ride-duration:problem:unsupported_media_type');
    },
  );

  test('When there is no content type, then it is 415 saying none was sent', async () => {
    const res = await request(t.app)
      .post('/predict')
      .send(Buffer.from(JSON.stringify(aTrip())));

    expect(res.status).toBe(415);
    expect(res.body.detail).toBe('send the body as application/json (UTF-8); the request had no Content-Type');
  });

  test('When the content type is wrong, then the 415 says which one was received', async () => {
    const res = await request(t.app).post('/predict').set('Content-Type', 'text/plain; charset=utf-8').send(JSON.stringify(aTrip()));

    expect(res.body.detail).toBe('send the body as application/json (UTF-8); the request had Content-Type "text/plain; charset=utf-8"');
  });

  test('When the body is empty and has no content type, then it is 400 "empty", not 415', async () => {
    const res = await request(t.app).post('/predict');

    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('the request body is empty; send a JSON object');
  });

  test('When the JSON starts with a UTF-8 byte-order mark, then it is accepted', async () => {
    const res = await request(t.app)
      .post('/predict')
      .set('Content-Type', 'application/json')
      .send(`\uFEFF${JSON.stringify(aTrip())}`);

    expect(res.status).toBe(200);
  });

  test('When the content type is application/json with charset=utf-8 or a +json type, then it is accepted', async () => {
    for (const type of ['application/json; charset=UTF-8', 'application/vnd.taxi+json']) {
      const res = await request(t.app).post('/predict').set('Content-Type', type).send(JSON.stringify(aTrip()));
      expect(res.status).toBe(200);
    }
  });

  test('When the body is gzip-encoded, then it is 415', async () => {
    const res = await request(t.app).post('/predict').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('{}');

    expect(res.status).toBe(415);
  });

  test('When the body is larger than BODY_LIMIT, then it is 413 (declared length and chunked)', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { BODY_LIMIT: '1kb' } });
    const big = JSON.stringify({ trips: Array.from({ length: 40 }, () => aTrip()) });
    expect(big.length).toBeGreaterThan(1024);

    const declared = await request(small.app).post('/predict').set('Content-Type', 'application/json').send(big);
    const chunked = await postChunked(small.app, [big.slice(0, 600), big.slice(600)]);

    for (const res of [declared, chunked]) {
      expect(res.status).toBe(413);
      expect(res.body.detail).toBe('the request body is larger than the limit of 1024 bytes');
    }
  });
});

describe('POST /predict, a body over BODY_LIMIT on a kept-alive connection', () => {
  // why: a connection closed while the client still sends is reset, and the reset can discard the 413
  const head = (length: string) => `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\n\r\n`;
  const next = `${head(`Content-Length: ${JSON.stringify(aTrip()).length}\r\nConnection: close`)}${JSON.stringify(aTrip())}`;

  test('When its length is declared, then it is answered 413, the body is read and dropped, and the connection serves the next request', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { BODY_LIMIT: '1kb' } });
    const big = ' '.repeat(3000);

    const text = await rawExchange(small.app, `${head(`Content-Length: ${big.length}`)}${big}${next}`);

    const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 413 /);
    expect(first).not.toMatch(/connection: close/i);
    expect(second).toMatch(/^HTTP\/1\.1 200 /);
  });

  test('When it is sent chunked, then it is answered 413, the rest is read and dropped, and the connection serves the next request', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { BODY_LIMIT: '1kb' } });
    const chunk = ' '.repeat(1000);
    const chunked = `${[chunk, chunk, chunk].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('')}0\r\n\r\n`;

    const text = await rawExchange(small.app, `${head('Transfer-Encoding: chunked')}${chunked}${next}`);

    const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 413 /);
    expect(second).toMatch(/^HTTP\/1\.1 200 /);
  });

  test('When it is sent chunked past 4 x BODY_LIMIT, then the connection is cut and the request after it is not served', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { BODY_LIMIT: '1kb' } });
    const chunk = ' '.repeat(1000);
    const chunked = `${Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')}0\r\n\r\n`;

    const text = await rawExchange(small.app, `${head('Transfer-Encoding: chunked')}${chunked}${next}`);

    expect(text).not.toMatch(/HTTP\/1\.1 200 /);
  });

  test('When its declared length is over 4 x BODY_LIMIT, then it is answered 413 with Connection: close, unread', async () => {
    const small = await buildApp({ model: t.slot.current!, env: { BODY_LIMIT: '1kb' } });

    // only the head is sent: the server must answer without waiting for a body it will not read
    const text = await rawExchange(small.app, head('Content-Length: 4097'));

    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/connection: close/i);
  });
});

describe('POST /predict, model failures', () => {
  test('When no model is loaded, then it is 503 with Retry-After', async () => {
    const empty = await buildApp({ model: null });

    const res = await request(empty.app).post('/predict').send(aTrip());

    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toMatchObject({ type: 'urn:taxi-ride-duration:problem:model_not_ready', status: 503 });
  });

  test('When the model returns NaN, then it is 500 without internals and counted as an error', async () => {
    const nan = await buildApp({ model: fakeModel(async (_c, n) => new Float32Array(n).fill(Number.NaN)) });

    const res = await request(nan.app).post('/predict').send(aTrip());

    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      type: 'urn:taxi-ride-duration:problem:inference_failed',
      title: 'Prediction failed',
      status: 500,
      detail: 'the prediction failed; the error is logged with this request id',
      instance: res.headers['x-request-id'],
    });
    expect(await nan.metrics.registry.getSingleMetricAsString('predictions_total')).toContain(
      'predictions_total{model_version="fake/1",outcome="error"} 1',
    );
  });

  test('When the model throws an unexpected error, then the client sees no message or stack, and the log has the stack', async () => {
    const broken = await buildApp({
      model: fakeModel(async () => {
        throw new TypeError('secret detail at /srv/internal/path.ts:42');
      }),
    });

    const res = await request(broken.app).post('/predict').send(aTrip());

    expect(res.status).toBe(500);
    expect(res.text).not.toContain('secret');
    expect(res.text).not.toContain('/srv/');
    const logged = broken.logs.find((l) => l.msg === 'unexpected error');
    expect(logged).toMatchObject({ level: 50, req_id: res.headers['x-request-id'] });
    expect((logged!.err as { stack: string }).stack).toContain('secret detail');
  });

  test('When a client disconnects halfway through its body, then the request is logged as aborted and the next one is served', async () => {
    const server = createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    const before = t.logs.length;

    const half = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/predict',
      headers: { 'Content-Type': 'application/json', 'Content-Length': 200 },
    });
    half.on('error', () => undefined);
    // The headers and part of the body reach the kernel before the client goes away; the server reads
    // them, then the end of the connection, so it always sees a request that was aborted.
    await new Promise<void>((resolve) => half.write('{"PULocationID": 10,', () => resolve()));
    half.destroy();
    const aborted = () => t.logs.slice(before).find((l) => l.msg === 'request' && l.aborted === true);
    while (aborted() === undefined) await new Promise((r) => setImmediate(r));
    server.close();

    expect(aborted()).toMatchObject({ route: '/predict' });
    expect((await post(aTrip())).status).toBe(200);
  });

  test('When requests fail, then the next valid request is still answered', async () => {
    await request(t.app).post('/predict').set('Content-Type', 'application/json').send('{{{');
    await post({ trips: 'x' });

    const res = await post(aTrip());

    expect(res.status).toBe(200);
  });
});
