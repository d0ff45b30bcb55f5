import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aTrip, buildApp, REPO_ROOT } from '../support/app.js';
import { startAppsService, type AppsService } from '../support/apps-service.js';
import {
  contentType,
  HUGE_BODIES,
  hostileHeaders,
  hostileInvocationsText,
  hostileJsonText,
  hostileOipText,
  hostileTripText,
  invalidUtf8Body,
  leaksInternals,
  randomBytes,
} from '../support/hostile.js';

const ALLOWED = [200, 400, 413, 415, 422];
const VALID = JSON.stringify(aTrip());
const prototypeNames = (o: object) => Object.getOwnPropertyNames(o).sort();
const BEFORE = { object: prototypeNames(Object.prototype), array: prototypeNames(Array.prototype), fn: prototypeNames(Function.prototype) };

interface Reply {
  status: number;
  contentType: string | null;
  text: string;
}

describe('hostile input against the app (in process)', () => {
  let server: Server;
  let base: string;
  let expectedDuration: number;

  const post = async (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Reply> => {
    const res = await fetch(`${base}/predict`, { method: 'POST', headers, body });
    return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
  };

  const tally = new Map<number, number>();
  /** The reply is a client error (or a prediction), told as problem+json without internals. */
  const expectHandled = (reply: Reply) => {
    tally.set(reply.status, (tally.get(reply.status) ?? 0) + 1);
    expect(ALLOWED).toContain(reply.status);
    expect(leaksInternals(reply.text, REPO_ROOT)).toBe(false);
    if (reply.status !== 200) {
      expect(reply.contentType).toBe('application/problem+json; charset=utf-8');
      expect(JSON.parse(reply.text)).toMatchObject({
        status: reply.status,
        type: expect.stringMatching(/^urn:taxi-ride-duration:problem:/),
      });
    }
  };

  /** The next valid request gets the same answer as before any hostile one. */
  const expectStillCorrect = async () => {
    const reply = await post(VALID);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).duration).toBe(expectedDuration);
  };

  beforeAll(async () => {
    const t = await buildApp({ logLevel: 'silent' });
    server = createServer(t.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expectedDuration = JSON.parse((await post(VALID)).text).duration;
  });

  afterAll(async () => {
    console.log(
      `[hostile input, in process] statuses: ${[...tally]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(', ')}`,
    );
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('When bodies carry wrong types, extreme numbers, -0, NaN spelled out, duplicate and prototype keys, then only 200 or 4xx come back and the next valid request is answered correctly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileJsonText, hostileTripText), async (body) => {
        expectHandled(await post(body));
        await expectStillCorrect();
      }),
      { numRuns: 300 },
    );
  });

  test('When bodies are invalid UTF-8 or random bytes, then only 200 or 4xx come back', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(invalidUtf8Body, randomBytes), async (body) => {
        expectHandled(await post(body));
        await expectStillCorrect();
      }),
      { numRuns: 100 },
    );
  });

  test('When the content type and other headers are odd, then only 200 or 4xx come back', async () => {
    await fc.assert(
      fc.asyncProperty(contentType, hostileHeaders, fc.oneof(fc.constant(VALID), hostileTripText), async (type, headers, body) => {
        expectHandled(await post(body, { ...headers, 'content-type': type }));
        await expectStillCorrect();
      }),
      { numRuns: 200 },
    );
  });

  test.each(Object.entries(HUGE_BODIES))(
    'When the body is %s, then a 4xx comes back and the next request is answered',
    async (_name, body) => {
      const reply = await post(body);

      expectHandled(reply);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      await expectStillCorrect();
    },
  );

  test.each([
    ['__proto__ holding a whole trip', `{"__proto__":${VALID}}`],
    ['__proto__ in a batch item', `{"trips":[{"__proto__":${VALID}}]}`],
    ['constructor.prototype', `{"constructor":{"prototype":{"polluted":1,"PULocationID":10}},"DOLocationID":50,"trip_distance":1}`],
    ['__proto__ at the top of a batch', `{"__proto__":{"trips":[${VALID}]}}`],
  ])('When the body hides fields behind %s, then they are not read as the trip (422)', async (_name, body) => {
    const reply = await post(body);

    expect(reply.status).toBe(422);
  });

  test('When all of the above has run, then no built-in prototype has gained a property', () => {
    expect({
      object: prototypeNames(Object.prototype),
      array: prototypeNames(Array.prototype),
      fn: prototypeNames(Function.prototype),
    }).toEqual(BEFORE);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).PULocationID).toBeUndefined();
  });
});

describe('hostile input against the other protocols (Open Inference Protocol, MLflow /invocations)', () => {
  let app: AppsService;
  const tally = new Map<string, number>();
  const TWO_TRIPS = [
    { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 },
    { PULocationID: 74, DOLocationID: 75, trip_distance: 1.1 },
  ];
  const ROUTES = {
    oip: {
      path: '/v2/models/taxi-ride-duration/infer',
      valid: JSON.stringify({
        inputs: (['PULocationID', 'DOLocationID', 'trip_distance'] as const).map((name) => ({
          name,
          shape: [2, 1],
          datatype: name === 'trip_distance' ? 'FP32' : 'INT64',
          data: TWO_TRIPS.map((t) => t[name]),
        })),
      }),
      durations: (body: { outputs: { name: string; data: number[] }[] }) => body.outputs.find((o) => o.name === 'duration')!.data,
      errorKeys: ['error'],
    },
    invocations: {
      path: '/invocations',
      valid: JSON.stringify({
        dataframe_split: { columns: ['PULocationID', 'DOLocationID', 'trip_distance'], data: TWO_TRIPS.map((t) => Object.values(t)) },
      }),
      durations: (body: { predictions: { duration: number }[] }) => body.predictions.map((p) => p.duration),
      errorKeys: ['error_code', 'message'],
    },
  } as const;
  type RouteName = keyof typeof ROUTES;
  let expected: number[];

  const post = async (
    route: RouteName,
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<Reply> => {
    const res = await fetch(`${app.base}${ROUTES[route].path}`, { method: 'POST', headers, body });
    return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
  };
  /** Only 200 or a 4xx in the protocol's own error form, without internals. */
  const expectHandled = (route: RouteName, reply: Reply) => {
    tally.set(`${route} ${reply.status}`, (tally.get(`${route} ${reply.status}`) ?? 0) + 1);
    expect([200, 400, 413, 415]).toContain(reply.status);
    expect(leaksInternals(reply.text, REPO_ROOT)).toBe(false);
    expect(reply.contentType).toBe('application/json; charset=utf-8');
    if (reply.status !== 200) expect(Object.keys(JSON.parse(reply.text))).toEqual(ROUTES[route].errorKeys);
  };
  const expectStillCorrect = async (route: RouteName) => {
    const reply = await post(route, ROUTES[route].valid);
    expect(reply.status).toBe(200);
    expect(ROUTES[route].durations(JSON.parse(reply.text))).toEqual(expected);
  };

  beforeAll(async () => {
    app = await startAppsService();
    const res = await fetch(`${app.base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ trips: TWO_TRIPS }),
    });
    expected = ((await res.json()) as { predictions: { duration: number }[] }).predictions.map((p) => p.duration);
    for (const route of Object.keys(ROUTES) as RouteName[]) await expectStillCorrect(route);
  });
  afterAll(async () => {
    console.log(
      `[hostile input, other protocols] statuses: ${[...tally]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(', ')}`,
    );
    await app.close();
  });

  test.each([
    ['oip', hostileOipText],
    ['invocations', hostileInvocationsText],
  ] as const)(
    "When %s bodies carry hostile tensors, rows, columns and values, then only 200 or 4xx in the protocol's error form come back",
    async (route, bodies) => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(bodies, hostileJsonText, hostileTripText), async (body) => {
          expectHandled(route, await post(route, body));
          await expectStillCorrect(route);
        }),
        { numRuns: 250 },
      );
    },
  );

  test.each(['oip', 'invocations'] as const)(
    'When %s gets invalid UTF-8, random bytes or odd headers, then only 4xx come back',
    async (route) => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(invalidUtf8Body, randomBytes), contentType, hostileHeaders, async (body, type, headers) => {
          expectHandled(route, await post(route, body, { ...headers, 'content-type': type }));
        }),
        { numRuns: 100 },
      );
      await expectStillCorrect(route);
    },
  );

  test.each(
    (['oip', 'invocations'] as const).flatMap((route) => [
      ...Object.entries(HUGE_BODIES).map(([name, body]) => [route, name, body] as const),
      [
        route,
        'tensor data nested 300,000 deep',
        `{"inputs":[{"name":"PULocationID","shape":[1],"datatype":"INT64","data":${'['.repeat(300_000)}${']'.repeat(300_000)}}]}`,
      ] as const,
      [
        route,
        'a tensor of 600,000 values',
        `{"inputs":[{"name":"PULocationID","shape":[600000],"datatype":"INT64","data":[${'1,'.repeat(599_999)}1]}]}`,
      ] as const,
      [route, '300,000 records', `{"dataframe_records":[${'{},'.repeat(299_999)}{}]}`] as const,
    ]),
  )('When %s gets %s, then a 4xx comes back and the next request is answered', async (route, _name, body) => {
    const reply = await post(route, body);
    expectHandled(route, reply);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    await expectStillCorrect(route);
  });
});
