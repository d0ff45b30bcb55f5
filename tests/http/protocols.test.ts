import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAppsService, type AppsService } from '../support/apps-service.js';
import { openApiChecker } from '../support/openapi.js';

const TRIPS = [
  { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66, pickup_datetime: '2021-03-01T08:30:00' },
  { PULocationID: 74, DOLocationID: 75, trip_distance: 1.1, pickup_datetime: '2021-03-06T23:05:00' },
];
/** The same trips as the model signature's columns: 08:30 on a Monday, 23:05 on a Saturday. */
const HOURS = [8, 23];
const DOWS = [0, 5];
const COLUMNS = ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_hour', 'pickup_dow'];
const ROWS = TRIPS.map((t, i) => [t.PULocationID, t.DOLocationID, t.trip_distance, HOURS[i], DOWS[i]]);
const RECORDS = ROWS.map((row) => Object.fromEntries(COLUMNS.map((c, j) => [c, row[j]])));
const INFER = '/v2/models/taxi-ride-duration/infer';

function oipRequest(nested: boolean, extra: Record<string, unknown> = {}) {
  const tensor = (name: string, datatype: string, values: number[]) => ({
    name,
    datatype,
    shape: [values.length, 1],
    data: nested ? values.map((v) => [v]) : values,
  });
  return {
    id: 'two-trips',
    inputs: [
      tensor(
        'PULocationID',
        'INT64',
        TRIPS.map((t) => t.PULocationID),
      ),
      tensor(
        'DOLocationID',
        'INT64',
        TRIPS.map((t) => t.DOLocationID),
      ),
      tensor(
        'trip_distance',
        'FP32',
        TRIPS.map((t) => t.trip_distance),
      ),
      tensor('pickup_hour', 'INT64', HOURS),
      tensor('pickup_dow', 'INT64', DOWS),
    ],
    ...extra,
  };
}

describe('the other protocols over the predictor (zones fixture registry, version 2 with intervals)', () => {
  let app: AppsService;
  const { fetchChecked, checked } = openApiChecker();
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetchChecked(`${app.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string, headers: Record<string, string> = {}) => fetchChecked(`${app.base}${path}`, { headers });
  let expected: { duration: number; duration_p10: number; duration_p90: number }[];

  beforeAll(async () => {
    app = await startAppsService({ CORS_ORIGINS: 'https://app.example.com', MAX_BATCH: '50' });
    const reply = await post('/predict', { trips: TRIPS });
    expect(reply.status).toBe(200);
    expected = reply
      .json()
      .predictions.map(({ duration, duration_p10, duration_p90 }: Record<string, number>) => ({ duration, duration_p10, duration_p90 }));
  });
  afterAll(async () => {
    await app.close();
    console.log(`[protocols] operations and statuses checked against the OpenAPI document: ${checked.size}`);
  });

  describe('Open Inference Protocol v2', () => {
    test('When two trips are sent as INT64/FP32 tensors, flat or nested, then the durations and interval equal POST /predict and the id is echoed', async () => {
      for (const nested of [false, true]) {
        const reply = await post(INFER, oipRequest(nested));
        expect(reply.status).toBe(200);
        const body = reply.json();
        expect(body).toMatchObject({ model_name: 'taxi-ride-duration', model_version: '2', id: 'two-trips' });
        const out = Object.fromEntries(
          body.outputs.map((o: { name: string; data: number[]; shape: number[]; datatype: string }) => [o.name, o]),
        );
        expect(out.duration).toEqual({ name: 'duration', shape: [2, 1], datatype: 'FP32', data: expected.map((e) => e.duration) });
        expect(out.duration_p10.data).toEqual(expected.map((e) => e.duration_p10));
        expect(out.duration_p90.data).toEqual(expected.map((e) => e.duration_p90));
      }
    });

    test('When the served version is named, or outputs are chosen, then it answers; without an id the request id is the id', async () => {
      const reply = await post(
        '/v2/models/taxi-ride-duration/versions/2/infer',
        { ...oipRequest(false), id: undefined, outputs: [{ name: 'duration' }] },
        { 'x-request-id': 'rid-42' },
      );
      expect(reply.status).toBe(200);
      expect(reply.json().id).toBe('rid-42');
      expect(reply.json().outputs.map((o: { name: string }) => o.name)).toEqual(['duration']);
    });

    test('When the model or version is not the served one, then 404 {"error"} names them', async () => {
      const unknown = await post('/v2/models/other-model/infer', oipRequest(false));
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toEqual({ error: 'model other-model is not served here; the model is taxi-ride-duration' });
      const version = await post('/v2/models/taxi-ride-duration/versions/1/infer', oipRequest(false));
      expect(version.status).toBe(404);
      expect(version.json().error).toContain('version 1 of model taxi-ride-duration is not loaded');
      expect((await get('/v2/models/taxi-ride-duration/versions/7')).status).toBe(404);
    });

    test.each([
      [
        'a shape that does not match the data',
        { inputs: [{ name: 'PULocationID', shape: [3, 1], datatype: 'INT64', data: [1, 2] }] },
        'inputs[0].data: does not match shape [3, 1]',
      ],
      [
        'the wrong datatype',
        { inputs: oipRequest(false).inputs.map((t) => (t.name === 'trip_distance' ? { ...t, datatype: 'FP64' } : t)) },
        'trip_distance must be FP32, got FP64',
      ],
      [
        'an unknown input',
        { inputs: [...oipRequest(false).inputs, { name: 'fare', shape: [2], datatype: 'FP32', data: [1, 2] }] },
        '"fare" is not an input of this model',
      ],
      ['a missing input', { inputs: oipRequest(false).inputs.filter((t) => t.name !== 'DOLocationID') }, 'input DOLocationID is missing'],
      [
        'a zone out of range',
        { inputs: oipRequest(false).inputs.map((t) => (t.name === 'PULocationID' ? { ...t, data: [130, 0] } : t)) },
        'PULocationID[1]: must be an integer zone ID from 1 to 265, got 0',
      ],
      [
        'an hour out of range',
        { inputs: oipRequest(false).inputs.map((t) => (t.name === 'pickup_hour' ? { ...t, data: [8, 24] } : t)) },
        'pickup_hour[1]: must be the New York pickup hour, an integer from 0 to 23, got 24',
      ],
      ['no inputs', { inputs: [] }, 'inputs'],
      [
        'a rank-3 shape',
        { inputs: [{ name: 'PULocationID', shape: [1, 1, 1], datatype: 'INT64', data: [[[1]]] }] },
        'must be [n] or [n, 1]',
      ],
    ])('When the request has %s, then 400 {"error"} says what is wrong', async (_what, body, message) => {
      const reply = await post(INFER, body);
      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(Object.keys(reply.json())).toEqual(['error']);
      expect(reply.json().error).toContain(message);
    });

    test('When the body is not JSON, too large a batch, or not JSON typed, then the error is still {"error"} with 400, 413 and 415', async () => {
      expect(await post(INFER, '{"inputs": [')).toMatchObject({ status: 400 });
      const big = { inputs: [{ name: 'PULocationID', shape: [51], datatype: 'INT64', data: Array(51).fill(1) }] };
      const tooMany = await post(INFER, big);
      expect(tooMany.status).toBe(413);
      expect(tooMany.json().error).toContain('the limit is 50');
      const text = await post(INFER, JSON.stringify(oipRequest(false)), { 'content-type': 'text/plain' });
      expect(text.status).toBe(415);
      expect(Object.keys(text.json())).toEqual(['error']);
    });

    test('When metadata, health and readiness are asked, then they describe the served model and its signature', async () => {
      expect((await get('/v2')).json()).toEqual({ name: 'taxi-ride-duration', version: '1.0.0', extensions: [] });
      expect((await get('/v2/health/live')).json()).toEqual({ live: true });
      expect((await get('/v2/health/ready')).json()).toEqual({ ready: true });
      const meta = (await get('/v2/models/taxi-ride-duration')).json();
      expect(meta).toEqual({
        name: 'taxi-ride-duration',
        versions: ['2'],
        platform: 'onnx_onnxv1',
        inputs: COLUMNS.map((name) => ({ name, datatype: name === 'trip_distance' ? 'FP32' : 'INT64', shape: [-1, 1] })),
        outputs: ['duration', 'duration_p10', 'duration_p90'].map((name) => ({ name, datatype: 'FP32', shape: [-1, 1] })),
      });
      expect((await get('/v2/models/taxi-ride-duration/versions/2')).json()).toEqual(meta);
      expect((await get('/v2/models/taxi-ride-duration/ready')).json()).toEqual({ name: 'taxi-ride-duration', ready: true });
      expect((await get('/v2/models/taxi-ride-duration/versions/2/ready')).json()).toEqual({ name: 'taxi-ride-duration', ready: true });
      const unknownRoute = await fetch(`${app.base}/v2/repository/index`);
      expect(unknownRoute.status).toBe(404);
      expect(Object.keys((await unknownRoute.json()) as object)).toEqual(['error']);
    });
  });

  describe("MLflow's scoring protocol", () => {
    test.each([
      ['dataframe_split with the signature columns', () => ({ dataframe_split: { columns: COLUMNS, data: ROWS } })],
      ['dataframe_split with index, as pandas writes it', () => ({ dataframe_split: { index: [0, 1], columns: COLUMNS, data: ROWS } })],
      ['dataframe_records', () => ({ dataframe_records: RECORDS })],
      ['instances as rows', () => ({ instances: RECORDS })],
      ['inputs as columns', () => ({ inputs: Object.fromEntries(COLUMNS.map((c, j) => [c, ROWS.map((r) => r[j])])) })],
      ['dataframe_records with /predict trip fields', () => ({ dataframe_records: TRIPS })],
    ])('When two trips come as %s, then the predictions equal POST /predict', async (_format, body) => {
      const reply = await post('/invocations', body());
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-model-version')).toBe('taxi-ride-duration/2');
      expect(reply.json()).toEqual({ predictions: expected });
    });

    test.each([
      [
        'two formats at once',
        { dataframe_records: RECORDS, instances: RECORDS },
        'exactly one of dataframe_split, dataframe_records, instances, inputs; got dataframe_records and instances',
      ],
      ['no known format', { data: ROWS }, 'exactly one of'],
      [
        'a row shorter than the columns',
        { dataframe_split: { columns: COLUMNS, data: [[130, 205]] } },
        'dataframe_split.data[0]: has 2 values for 5 columns',
      ],
      [
        'a bad distance',
        { dataframe_records: [{ ...RECORDS[0], trip_distance: 'far' }] },
        'dataframe_records[0].trip_distance: must be a number of miles from 0 to 200, got a string',
      ],
      [
        'columns of different lengths',
        { inputs: { PULocationID: [1, 2], DOLocationID: [1], trip_distance: [1, 2] } },
        'inputs.DOLocationID: has 1 values',
      ],
      ['no rows', { dataframe_records: [] }, 'holds no rows'],
      [
        'an hour without a weekday',
        { dataframe_records: [{ ...RECORDS[0], pickup_dow: undefined }] },
        'pickup_dow: must be the New York pickup weekday',
      ],
    ])('When the body has %s, then 400 {"error_code":"BAD_REQUEST","message"} says what is wrong', async (_what, body, message) => {
      const reply = await post('/invocations', body);
      expect(reply.status).toBe(400);
      expect(reply.json().error_code).toBe('BAD_REQUEST');
      expect(reply.json().message).toContain(message);
    });

    test('When a batch is over MAX_BATCH, then 413 in MLflow form; /ping and /health answer 200 with a newline', async () => {
      const reply = await post('/invocations', { dataframe_records: Array(51).fill(RECORDS[0]) });
      expect(reply.status).toBe(413);
      expect(reply.json()).toEqual({ error_code: 'BAD_REQUEST', message: 'the request has 51 rows; the limit is 50' });
      for (const path of ['/ping', '/health']) {
        const ping = await get(path);
        expect([ping.status, ping.text]).toEqual([200, '\n']);
      }
    });
  });

  describe('shared with /predict: CORS, request ids, metrics route labels', () => {
    test('When a browser origin calls the new routes, then CORS and X-Request-ID apply as on /predict, and metrics carry the route pattern', async () => {
      const reply = await post(INFER, oipRequest(false), { origin: 'https://app.example.com', 'x-request-id': 'cors-1' });
      expect(reply.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(reply.headers.get('x-request-id')).toBe('cors-1');
      const preflight = await fetch(`${app.base}/invocations`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
      const zones = await get('/zones', { origin: 'https://app.example.com' });
      expect(zones.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const metrics = await (await fetch(`${app.base}/metrics`)).text();
      for (const route of [
        '/v2/models/:model/infer',
        '/v2/models/:model/versions/:version/infer',
        '/invocations',
        '/zones',
        '/v2/models/:model',
      ]) {
        expect(metrics).toContain(`route="${route}"`);
      }
      expect(metrics).not.toContain('route="/v2/models/taxi-ride-duration');
    });
  });
});

describe('the same two trips with the production model of the embedded registry', () => {
  let app: AppsService;
  beforeAll(async () => {
    app = await startAppsService({ REGISTRY_URI: 'file:models' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('When the trips go to OIP v2 and as dataframe_split, then both answer the durations POST /predict answers', async () => {
    const json = async (path: string, body: unknown) =>
      (await (
        await fetch(`${app.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      ).json()) as any;
    const predicted = (await json('/predict', { trips: TRIPS })).predictions.map((p: { duration: number }) => p.duration);
    const oip = await json(INFER, oipRequest(false));
    expect(oip.outputs.find((o: { name: string }) => o.name === 'duration').data).toEqual(predicted);
    const mlflow = await json('/invocations', { dataframe_split: { columns: COLUMNS, data: ROWS } });
    const durations = mlflow.predictions.map((p: number | { duration: number }) => (typeof p === 'number' ? p : p.duration));
    expect(durations).toEqual(predicted);
    expect(new Set(predicted).size).toBe(2);
  });
});
