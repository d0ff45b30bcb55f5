import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { aTrip, buildApp, REPO_ROOT } from '../support/app.js';
import { contentType, HUGE_BODIES, hostileHeaders, hostileJsonText, hostileTripText, invalidUtf8Body, leaksInternals, randomBytes } from '../support/hostile.js';

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
      expect(JSON.parse(reply.text)).toMatchObject({ status: reply.status, type: expect.stringMatching(/^urn:taxi-ride-duration:problem:/) });
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
    console.log(`[hostile input, in process] statuses: ${[...tally].sort().map(([s, n]) => `${s}×${n}`).join(', ')}`);
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

  test.each(Object.entries(HUGE_BODIES))('When the body is %s, then a 4xx comes back and the next request is answered', async (_name, body) => {
    const reply = await post(body);

    expectHandled(reply);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    await expectStillCorrect();
  });

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
    expect({ object: prototypeNames(Object.prototype), array: prototypeNames(Array.prototype), fn: prototypeNames(Function.prototype) }).toEqual(BEFORE);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).PULocationID).toBeUndefined();
  });
});
