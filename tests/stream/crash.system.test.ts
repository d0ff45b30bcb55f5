import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Redis } from 'ioredis';
import { REDIS_SERVER, startRedis, type RedisServer } from '../support/redis.js';
import {
  blockedReading,
  drained,
  kill9,
  pendingOf,
  predictOverHttp,
  produce,
  readAll,
  rideRecords,
  spawnConsumer,
  type ConsumerProcess,
  type RideRecords,
} from './support.js';

const STREAM = 'ride_events';
const GROUP = 'ride-duration';
const TOTAL = 20_000;

let records: RideRecords;
let expected: Awaited<ReturnType<typeof predictOverHttp>>;
let redisServer: RedisServer | undefined;
let consumers: ConsumerProcess[] = [];

beforeAll(async () => {
  records = rideRecords(TOTAL);
  expected = await predictOverHttp(records.rides);
}, 120_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const c of consumers) {
      console.error(
        `--- ${c.name} (last lines)\n${c.logs
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n')}\n${c.stderr()}`,
      );
    }
  }
  await Promise.all(consumers.map(kill9));
  consumers = [];
  await redisServer?.stop();
  redisServer = undefined;
});

/**
 * Produces every record in chunks of 500. From a quarter of the way on, `victim` is stopped (SIGSTOP)
 * once it waits in XREADGROUP, before a chunk goes out; if it then holds entries delivered to it and not acknowledged (Redis serves
 * its blocked read even while the process is stopped, or it was stopped between a read and its
 * commit), it is caught in the middle of a batch and `act` runs; otherwise it is let go (SIGCONT) and
 * the next chunk tries again. Returns how many entries were produced when `act` ran and what the victim held.
 */
async function produceAndCatch(
  redis: Redis,
  victim: ConsumerProcess,
  act: () => Promise<void>,
): Promise<{ producedBefore: number; held: number }> {
  let caught: { producedBefore: number; held: number } | undefined;
  const { entries } = records;
  for (let i = 0; i < entries.length; i += 500) {
    const trying = caught === undefined && i >= entries.length / 4;
    if (trying) {
      await blockedReading(redis, victim.name);
      victim.child.kill('SIGSTOP');
    }
    await produce(redis, STREAM, entries.slice(i, i + 500), 500);
    if (!trying) continue;
    const held = await pendingOf(redis, STREAM, GROUP, victim.name);
    if (held > 0) {
      caught = { producedBefore: i + 500, held };
      await act();
    } else {
      victim.child.kill('SIGCONT');
    }
  }
  if (caught === undefined) throw new Error(`${victim.name} never held a batch when stopped`);
  return caught;
}

async function expectExactlyOncePerRide(redis: Redis): Promise<void> {
  const outputs = await readAll(redis, 'ride_predictions');
  const byRide = new Map<string, typeof outputs>();
  for (const o of outputs) byRide.set(o.fields.ride_id, [...(byRide.get(o.fields.ride_id) ?? []), o]);
  const repeated = [...byRide.entries()].filter(([, list]) => list.length > 1).map(([id]) => id);
  const missing = [...records.rides.keys()].filter((id) => !byRide.has(String(id)));
  const wrong: string[] = [];
  for (const o of outputs) {
    const data = JSON.parse(o.fields.data);
    const want = expected.get(Number(o.fields.ride_id));
    if (
      want === undefined ||
      data.model !== 'ride_duration_prediction_model' ||
      data.version !== want.model_version ||
      data.prediction.ride_id !== Number(o.fields.ride_id) ||
      Math.abs(data.prediction.ride_duration - want.duration) > 0.001 ||
      Math.abs((data.prediction.ride_duration_p10 ?? 0) - (want.duration_p10 ?? 0)) > 0.001 ||
      Math.abs((data.prediction.ride_duration_p90 ?? 0) - (want.duration_p90 ?? 0)) > 0.001
    ) {
      wrong.push(`${o.fields.ride_id}: ${o.fields.data} (POST /predict: ${JSON.stringify(want)})`);
    }
  }
  const deadLetters = await readAll(redis, 'ride_events_dlq');
  const pending = (await redis.xpending(STREAM, GROUP)) as [number, ...unknown[]];

  expect(repeated).toEqual([]);
  expect(missing).toEqual([]);
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(outputs).toHaveLength(records.rides.size);
  expect(deadLetters.map((d) => d.fields.data).sort()).toEqual([...records.poison].sort());
  expect(deadLetters.every((d) => d.fields.error.length > 0 && /^\d+-\d+$/.test(d.fields.source_id))).toBe(true);
  expect(pending[0]).toBe(0);
}

describe.skipIf(!REDIS_SERVER)('stream consumers as real processes against a real redis-server', () => {
  test('When one of two consumers is killed with SIGKILL in the middle of a batch and not restarted, then every valid ride has exactly one prediction equal to POST /predict, the poison is dead-lettered and nothing is pending', async () => {
    redisServer = await startRedis();
    const redis = redisServer.client();
    const env = { REDIS_URL: redisServer.url, STREAM_CLAIM_IDLE_MS: '1000', STREAM_BATCH: '500' };
    consumers = [spawnConsumer('consumer-a', env), spawnConsumer('consumer-b', env)];
    const [a, b] = consumers;
    await Promise.all([a, b].map((c) => c.line((l) => l.msg === 'consuming', 'consuming')));

    const caught = await produceAndCatch(redis, a, async () => {
      await kill9(a);
    });
    await drained(redis, STREAM, GROUP);

    expect(caught.producedBefore).toBeLessThan(records.entries.length);
    expect(caught.held).toBeGreaterThan(0);
    const claimed = b.logs
      .filter((l) => l.msg === 'claimed entries another consumer left pending')
      .reduce((n, l) => n + Number(l.entries), 0);
    expect(claimed).toBeGreaterThanOrEqual(caught.held);
    await expectExactlyOncePerRide(redis);
  }, 180_000);

  test('When the Redis server is killed and restarted while a consumer holds a batch, then nothing is lost and nothing duplicated', async () => {
    redisServer = await startRedis({ durable: true });
    const redis = redisServer.client();
    const env = { REDIS_URL: redisServer.url, STREAM_CLAIM_IDLE_MS: '1000', STREAM_BATCH: '500' };
    consumers = [spawnConsumer('consumer-a', env), spawnConsumer('consumer-b', env)];
    const [a, b] = consumers;
    await Promise.all([a, b].map((c) => c.line((l) => l.msg === 'consuming', 'consuming')));

    const server = redisServer;
    const caught = await produceAndCatch(redis, a, async () => {
      await server.restart();
      a.child.kill('SIGCONT');
    });
    await drained(redis, STREAM, GROUP);

    expect(caught.producedBefore).toBeLessThan(records.entries.length);
    expect(caught.held).toBeGreaterThan(0);
    await Promise.all([a, b].map((c) => c.line((l) => l.msg === 'Redis reconnected', 'a reconnection')));
    await expectExactlyOncePerRide(redis);
  }, 180_000);
});
