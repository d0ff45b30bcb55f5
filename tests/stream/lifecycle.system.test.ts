import { afterEach, describe, expect, test } from 'vitest';
import { freePort, waitFor } from '../support/ports.js';
import { REDIS_SERVER, startRedis, type RedisServer } from '../support/redis.js';
import {
  aRideEntry,
  blockedReading,
  groupState,
  kill9,
  notBlockedReading,
  pendingOf,
  produce,
  readAll,
  spawnConsumer,
  type ConsumerProcess,
} from './support.js';

let servers: RedisServer[] = [];
let consumers: ConsumerProcess[] = [];

afterEach(async () => {
  await Promise.all(consumers.map(kill9));
  await Promise.all(servers.map((s) => s.stop()));
  consumers = [];
  servers = [];
});

/**
 * A consumer on a Redis of its own, stopped (SIGSTOP) while its read was blocked, and one entry
 * produced meanwhile: Redis has delivered it, so the consumer holds a batch (`held` entries pending
 * under its name) that it has not seen yet.
 */
async function stoppedHoldingABatch(name: string, env: Record<string, string>) {
  const redisServer = await startRedis();
  servers.push(redisServer);
  const redis = redisServer.client();
  const consumer = spawnConsumer(name, { REDIS_URL: redisServer.url, ...env });
  consumers.push(consumer);
  await consumer.line((l) => l.msg === 'consuming', 'consuming');
  await blockedReading(redis, name);

  consumer.child.kill('SIGSTOP');
  await produce(redis, 'ride_events', [aRideEntry(0)]);
  const held = await pendingOf(redis, 'ride_events', 'ride-duration', name);
  return { redisServer, redis, consumer, held };
}

async function probe(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

describe.skipIf(!REDIS_SERVER)('the stream consumer process', () => {
  test('When SIGTERM arrives while it holds a batch, then it commits and acknowledges that batch, reads no more, leaves the group and exits 0', async () => {
    const { redis, consumer, held } = await stoppedHoldingABatch('graceful', { STREAM_BATCH: '200' });
    consumer.child.kill('SIGTERM');
    consumer.child.kill('SIGCONT');
    // why: the rest arrives once it has seen SIGTERM and holds no blocked read. Entries already there
    // when it resumes may be taken by a read it issued before its signal handler ran (which read comes
    // first is the event loop's choice, not the contract), and such a batch is in hand too.
    await consumer.line((l) => l.msg === 'stopping: no more reads; committing the batch in hand', 'the stopping line');
    await notBlockedReading(redis, 'graceful');
    await produce(
      redis,
      'ride_events',
      Array.from({ length: 99 }, (_, i) => aRideEntry(i + 1)),
    );
    const code = await consumer.exited;

    expect(held).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(await groupState(redis, 'ride_events', 'ride-duration')).toEqual({ pending: 0, lag: 100 - held });
    expect(await readAll(redis, 'ride_predictions')).toHaveLength(held);
    expect(consumer.logs.map((l) => l.msg)).toContain('stopped');
    expect(await redis.xinfo('CONSUMERS', 'ride_events', 'ride-duration')).toEqual([]);
  }, 120_000);

  test('When Redis cannot be reached, then it stays up with /readyz 503 and /healthz 200, and consumes once Redis comes', async () => {
    const port = await freePort();
    const consumer = spawnConsumer('patient', { REDIS_URL: `redis://127.0.0.1:${port}` });
    consumers.push(consumer);
    const metricsPort = await consumer.metricsPort();
    await consumer.line((l) => l.msg === 'Redis unreachable; reconnecting with backoff', 'the unreachable warning');
    const notReady = await waitFor(
      async () => {
        const r = await probe(metricsPort, '/readyz');
        return r.status === 503 && /Redis/.test(r.text) ? r : undefined;
      },
      'readyz to name Redis',
      60_000,
    );
    const health = await probe(metricsPort, '/healthz');
    const metrics = await probe(metricsPort, '/metrics');

    expect(notReady.text).toContain('cannot be reached');
    expect(health.status).toBe(200);
    expect(metrics.text).toMatch(/^stream_redis_connected 0$/m);
    expect(consumer.child.exitCode).toBeNull();

    const valid = aRideEntry(256);
    const redisServer = await startRedisOn(port);
    const redis = redisServer.client();
    await consumer.line((l) => l.msg === 'consuming', 'consuming');
    await waitFor(async () => ((await probe(metricsPort, '/readyz')).status === 200 ? true : undefined), 'readyz 200', 60_000);
    await produce(redis, 'ride_events', [valid]);
    const outputs = await waitFor(
      async () => {
        const all = await readAll(redis, 'ride_predictions');
        return all.length > 0 ? all : undefined;
      },
      'a prediction',
      60_000,
    );

    expect(outputs).toHaveLength(1);
    expect(JSON.parse(outputs[0].fields.data).prediction.ride_id).toBe(JSON.parse(valid[1]).ride_id);
    expect((await probe(metricsPort, '/metrics')).text).toMatch(/^stream_entries_total\{outcome="predicted"\} 1$/m);
  }, 120_000);

  test('When SIGTERM arrives while Redis cannot be reached, then it exits 0 at once, not after SHUTDOWN_TIMEOUT_MS', async () => {
    const port = await freePort();
    // why a timeout longer than the test's: a consumer that waited for it would fail the test by timing out.
    const consumer = spawnConsumer('unreachable-stop', { REDIS_URL: `redis://127.0.0.1:${port}`, SHUTDOWN_TIMEOUT_MS: '600000' });
    consumers.push(consumer);
    await consumer.line((l) => l.msg === 'Redis unreachable; reconnecting with backoff', 'the unreachable warning');

    consumer.child.kill('SIGTERM');

    expect(await consumer.exited).toBe(0);
    expect(consumer.logs.map((l) => l.msg)).toContain('stopped');
  }, 120_000);

  test('When Redis dies while a batch is in hand and SIGTERM comes, then it exits 1 after SHUTDOWN_TIMEOUT_MS, its batch left to a claim', async () => {
    const { redisServer, redis, consumer, held } = await stoppedHoldingABatch('stranded', { SHUTDOWN_TIMEOUT_MS: '500' });
    // The read's answer waits in the stopped consumer's socket; Redis then holds every client's
    // commands, so the batch's commit cannot finish before Redis is killed: in flight or queued, ioredis
    // keeps it while it reconnects.
    expect(held).toBe(1);
    expect(await redis.call('CLIENT', 'PAUSE', '60000', 'ALL')).toBe('OK');
    consumer.child.kill('SIGCONT');
    await consumer.line((l) => l.msg === 'read a batch', 'the batch read');
    await redisServer.kill();
    // why either line: a reset connection (the commit unread in Redis's buffer) is reported as an error first.
    await consumer.line((l) => /^Redis (connection lost|unreachable); reconnecting/.test(String(l.msg)), 'the lost connection');
    consumer.child.kill('SIGTERM');

    expect(await consumer.exited).toBe(1);
    expect(consumer.logs.map((l) => l.msg)).toContain(
      'the batch in hand did not commit in time; its entries stay pending for another consumer to claim',
    );
  }, 120_000);

  test('When REDIS_URL is not a Redis URL, then it exits 1 with one line naming the variable', async () => {
    const consumer = spawnConsumer('misconfigured', { REDIS_URL: 'localhost:6379' });
    consumers.push(consumer);

    expect(await consumer.exited).toBe(1);
    expect(consumer.stderr().trim().split('\n')).toEqual([
      'invalid configuration: REDIS_URL="localhost:6379": expected redis://[user:password@]host:port[/db] or rediss://…',
    ]);
  }, 60_000);
});

/** A redis-server on a port chosen before (the consumer was started against it while it was down). */
async function startRedisOn(port: number): Promise<RedisServer> {
  const server = await startRedis({ port });
  servers.push(server);
  return server;
}
