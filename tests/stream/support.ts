import type { Redis } from 'ioredis';
import request from 'supertest';
import { buildApp } from '../support/app.js';
import { waitFor } from '../support/ports.js';
import { spawnServer, type LogLine, type SpawnedServer } from '../support/service-process.js';

export interface ConsumerProcess extends SpawnedServer {
  name: string;
  /** Resolves with the first line (already logged or to come) that matches. */
  line(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  /** The probe server's port, once it listens. */
  metricsPort(): Promise<number>;
}

/** Spawns src/stream.ts (the real runner) with only PATH inherited; stdout parsed as pino JSON lines. */
export function spawnConsumer(name: string, env: Record<string, string>): ConsumerProcess {
  const spawned = spawnServer(
    { METRICS_PORT: '0', CONSUMER_NAME: name, LOG_LEVEL: 'debug', MODEL_POLL_INTERVAL_S: '0', ...env },
    'src/stream.ts',
  );
  const line = (match: (l: LogLine) => boolean, what: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = spawned.logs.find(match);
      if (found) return resolve(found);
      spawned.onLine((l) => match(l) && resolve(l));
      void spawned.exited.then((code) =>
        reject(new Error(`consumer ${name} exited (${code}) before logging ${what}: ${spawned.stderr()}`)),
      );
    });
  return {
    ...spawned,
    name,
    line,
    metricsPort: async () => Number((await line((l) => l.msg === 'probes and metrics listening', 'its port')).port),
  };
}

export function kill9(consumer: ConsumerProcess): Promise<number | null> {
  if (consumer.child.exitCode === null && consumer.child.signalCode === null) consumer.child.kill('SIGKILL');
  return consumer.exited;
}

export interface RideRecords {
  /** The `data` field of each entry in production order, or the whole field list for the entries without one. */
  entries: string[][];
  /** Valid rides by ride id (producer duplicates included once). */
  rides: Map<number, Record<string, unknown>>;
  /** What the dead-letter stream must hold, as its `data` fields. */
  poison: string[];
}

/** xorshift32: the same records every run. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** `total` entries: valid rides with a pickup time, 10 poison entries and `duplicates` rides sent a second time, interleaved. */
export function rideRecords(total: number, duplicates = 20, seed = 7): RideRecords {
  const next = random(seed);
  const poisonEntries: string[][] = [
    ['data', 'not json at all'],
    ['data', '[1, 2, 3]'],
    ['data', JSON.stringify({ ride_id: 900_001 })],
    ['data', JSON.stringify({ ride: { PULocationID: 0, DOLocationID: 50, trip_distance: 2 }, ride_id: 900_002 })],
    ['data', JSON.stringify({ ride: { PULocationID: 10, DOLocationID: 50, trip_distance: '2.5' }, ride_id: 900_003 })],
    ['data', JSON.stringify({ ride: { PULocationID: 10, DOLocationID: 50, trip_distance: 2 }, ride_id: -4 })],
    ['data', JSON.stringify({ ride: { PULocationID: 10, DOLocationID: 50, trip_distance: 2 } })],
    [
      'data',
      JSON.stringify({ ride: { PULocationID: 10, DOLocationID: 50, trip_distance: 2, pickup_datetime: 'yesterday' }, ride_id: 900_005 }),
    ],
    ['data', '{"ride": {"PULocationID": 10, "DOLocationID": 50, "trip_distance": 2}, "ride_id": 900006'],
    ['payload', 'no data field here'],
  ];
  const poison = poisonEntries.map((fields) => (fields[0] === 'data' ? fields[1] : JSON.stringify({ [fields[0]]: fields[1] })));
  const valid = total - poisonEntries.length - duplicates;
  const rides = new Map<number, Record<string, unknown>>();
  const entries: string[][] = [];
  const start = Date.UTC(2021, 0, 1);
  for (let i = 0; i < valid; i++) {
    const rideId = 1000 + i;
    const pickup = new Date(start + Math.floor(next() * 89 * 86_400_000)).toISOString().slice(0, 19);
    const ride = {
      PULocationID: 1 + Math.floor(next() * 265),
      DOLocationID: 1 + Math.floor(next() * 265),
      trip_distance: Math.round(next() * 2500) / 100,
      pickup_datetime: pickup,
    };
    rides.set(rideId, ride);
    entries.push(['data', JSON.stringify({ ride, ride_id: rideId })]);
  }
  const spread = (extra: string[][]) => {
    for (const fields of extra) entries.splice(Math.floor(next() * entries.length), 0, fields);
  };
  spread(poisonEntries);
  spread(Array.from({ length: duplicates }, (_, k) => ['data', JSON.stringify({ ride: rides.get(1000 + k * 7)!, ride_id: 1000 + k * 7 })]));
  return { entries, rides, poison };
}

/** XADDs entries in pipelined chunks. */
export async function produce(redis: Redis, stream: string, entries: readonly string[][], chunk = 1000): Promise<void> {
  for (let i = 0; i < entries.length; i += chunk) {
    const pipeline = redis.pipeline();
    for (const fields of entries.slice(i, i + chunk)) pipeline.xadd(stream, '*', ...fields);
    await pipeline.exec();
  }
}

/** What POST /predict answers for each ride (batches of 5,000 through the service's own app). */
export interface HttpAnswer {
  duration: number;
  duration_p10?: number;
  duration_p90?: number;
  model_version: string;
}

export async function predictOverHttp(rides: Map<number, Record<string, unknown>>): Promise<Map<number, HttpAnswer>> {
  const { app } = await buildApp({ logLevel: 'silent' });
  const all = [...rides.entries()];
  const answers = new Map<number, HttpAnswer>();
  for (let i = 0; i < all.length; i += 5000) {
    const trips = all.slice(i, i + 5000).map(([rideId, ride]) => ({ ...ride, ride_id: rideId }));
    const res = await request(app).post('/predict').send({ trips });
    if (res.status !== 200) throw new Error(`POST /predict answered ${res.status}: ${res.text}`);
    for (const { ride_id: rideId, ...p } of res.body.predictions as (HttpAnswer & { ride_id: number })[]) {
      answers.set(rideId, { ...p, model_version: res.body.model_version });
    }
  }
  return answers;
}

export interface GroupState {
  pending: number;
  lag: number | null;
}

export async function groupState(redis: Redis, stream: string, group: string): Promise<GroupState> {
  const groups = (await redis.xinfo('GROUPS', stream)) as (string | number | null)[][];
  for (const g of groups) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
    if (info.name === group) return { pending: Number(info.pending), lag: info.lag as number | null };
  }
  throw new Error(`no group ${group} on ${stream}`);
}

/** Pending entries held by one consumer (XPENDING summary). */
export async function pendingOf(redis: Redis, stream: string, group: string, consumer: string): Promise<number> {
  const [, , , consumers] = (await redis.xpending(stream, group)) as [number, string, string, [string, string][] | null];
  return Number((consumers ?? []).find(([name]) => name === consumer)?.[1] ?? 0);
}

/** Waits until every produced entry is delivered and acknowledged (group lag 0, pending 0). */
export async function drained(redis: Redis, stream: string, group: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => {
      const s = await groupState(redis, stream, group);
      return s.pending === 0 && s.lag === 0 ? true : undefined;
    },
    `group ${group} to have delivered and acknowledged every entry`,
    timeoutMs,
  );
}

export async function readAll(redis: Redis, stream: string): Promise<{ id: string; fields: Record<string, string> }[]> {
  const raw = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  return raw.map(([id, list]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]] = list[i + 1];
    return { id, fields };
  });
}

/** One valid input entry's fields: the course's record with a pickup time. */
export function aRideEntry(rideId: number, ride: Record<string, unknown> = {}): string[] {
  return [
    'data',
    JSON.stringify({
      ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66, pickup_datetime: '2021-03-01T08:30:00', ...ride },
      ride_id: rideId,
    }),
  ];
}

/** Waits until the consumer's reading connection is blocked in XREADGROUP (so new entries go to it at once). */
/** Whether `consumer`'s read connection is blocked in XREADGROUP now (CLIENT LIST). */
async function isBlockedReading(redis: Redis, consumer: string): Promise<boolean> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .some((l) => l.includes(`name=ride-duration:${consumer}:read `) && /cmd=xreadgroup/.test(l) && /flags=\S*b/.test(l));
}

export async function blockedReading(redis: Redis, consumer: string): Promise<void> {
  await waitFor(async () => ((await isBlockedReading(redis, consumer)) ? true : undefined), `${consumer} to block in XREADGROUP`, 60_000);
}

export async function notBlockedReading(redis: Redis, consumer: string): Promise<void> {
  await waitFor(
    async () => ((await isBlockedReading(redis, consumer)) ? undefined : true),
    `${consumer} to hold no blocked XREADGROUP`,
    60_000,
  );
}
