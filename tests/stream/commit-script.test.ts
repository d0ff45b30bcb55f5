import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Redis } from 'ioredis';
import { defineCommit, type CommitTarget } from '../../src/stream/commit-script.js';
import { REDIS_SERVER, startRedis, type RedisServer } from '../support/redis.js';
import { readAll } from './support.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  if (!REDIS_SERVER) return;
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => server?.stop());

async function freshTarget(name: string, maxLen = 0): Promise<CommitTarget> {
  const target = { events: `${name}_in`, predictions: `${name}_out`, deadLetters: `${name}_dlq`, group: 'g', dedupeTtlS: 3600, maxLen };
  await redis.xgroup('CREATE', target.events, 'g', '$', 'MKSTREAM');
  return target;
}

/** Adds entries and delivers them to consumer c, so they are pending as a real batch is. */
async function deliver(target: CommitTarget, n: number): Promise<string[]> {
  for (let i = 0; i < n; i++) await redis.xadd(target.events, '*', 'data', `{"n":${i}}`);
  const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', n, 'STREAMS', target.events, '>')) as [string, [string, string[]][]][];
  return reply[0][1].map(([id]) => id);
}

describe.skipIf(!REDIS_SERVER)('the commit script', () => {
  test('When a batch commits, then each prediction is written once, a second entry of the same ride is only acknowledged, and dead letters keep data and error', async () => {
    const target = await freshTarget('batch');
    const [a, b, c] = await deliver(target, 3);
    const commit = defineCommit(redis);

    const result = await commit(target, [
      { kind: 'prediction', id: a, rideId: '7', data: '{"p":1}' },
      { kind: 'prediction', id: b, rideId: '7', data: '{"p":2}' },
      { kind: 'dead_letter', id: c, data: 'garbage', error: 'data: not JSON' },
    ]);

    expect(result.outcomes).toBe('pdl');
    expect(Math.abs(result.redisNowMs - Date.now())).toBeLessThan(60_000);
    expect((await readAll(redis, target.predictions)).map((e) => e.fields)).toEqual([{ ride_id: '7', data: '{"p":1}' }]);
    expect((await readAll(redis, target.deadLetters)).map((e) => e.fields)).toEqual([
      { data: 'garbage', error: 'data: not JSON', source_id: c, source_stream: target.events },
    ]);
    expect(await redis.xpending(target.events, 'g')).toEqual([0, null, null, null]);
    expect(await redis.ttl(`${target.predictions}:done:7`)).toBeGreaterThan(3000);
  });

  test('When the same commit is sent again (a lost reply, or a consumer that lost its claim), then it writes nothing', async () => {
    const target = await freshTarget('resend');
    const [a, b] = await deliver(target, 2);
    const commit = defineCommit(redis);
    const items = [
      { kind: 'prediction' as const, id: a, rideId: '1', data: '{}' },
      { kind: 'dead_letter' as const, id: b, data: 'x', error: 'e' },
    ];

    const first = await commit(target, items);
    const second = await commit(target, items);

    expect(first.outcomes).toBe('pl');
    expect(second.outcomes).toBe('aa');
    expect(await redis.xlen(target.predictions)).toBe(1);
    expect(await redis.xlen(target.deadLetters)).toBe(1);
  });

  test('When PREDICTIONS_MAXLEN is set, then the output stream is trimmed to about that length', async () => {
    const target = await freshTarget('trim', 100);
    const ids = await deliver(target, 1000);

    await defineCommit(redis)(
      target,
      ids.map((id, i) => ({ kind: 'prediction', id, rideId: String(i), data: '{}' })),
    );

    const length = await redis.xlen(target.predictions);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(1000);
  });
});
