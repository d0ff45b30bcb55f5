/**
 * The Redis Streams consumer: read a batch → validate (features/trip-schema.ts) → predictor → one
 * atomic commit per batch (commit-script.ts) → metrics. Delivery is at least once; the commit makes
 * the effect exactly once per ride (docs/streaming.md).
 *
 * Sources of batches, in this order of priority:
 * 1. at start-up, this consumer's own pending entries (a restarted container keeps its name);
 * 2. every STREAM_CLAIM_IDLE_MS / 2, entries other consumers held longer than STREAM_CLAIM_IDLE_MS
 *    (XAUTOCLAIM): a dead consumer's batch is finished by the live ones;
 * 3. new entries (XREADGROUP >, blocking, on its own connection).
 *
 * Redis failures never stop the loop: ioredis reconnects with backoff and resends what was in flight
 * (a resent commit is harmless: its XACKs answer 0 and it writes nothing), and the loop backs off on
 * errors. stop() gives up the read (CLIENT UNBLOCK ends it on the server), lets the batch in hand
 * commit, and resolves; with Redis unreachable and nothing in hand, at once.
 */
import type { Redis } from 'ioredis';
import type { Trip } from '../features/trip-inputs.js';
import { ServiceError } from '../errors.js';
import type { Predictions, Predictor } from '../model/predictor.js';
import type { Logger } from '../observability/logger.js';
import type { StreamMetrics } from '../observability/stream-metrics.js';
import type { StreamConfig } from '../config.js';
import { defineCommit, type CommitItem, type CommitTarget } from './commit-script.js';
import { parseRideRecord, predictionRecord } from './records.js';

/** How long one blocking read waits for new entries before the loop looks at claims and metrics again. */
const BLOCK_MS = 2000;
/** Group info (lag, pending) is read at most this often. */
const GROUP_INFO_EVERY_MS = 1000;
const STOPPED = Symbol('stopped');

export type ConsumerConfig = Pick<
  StreamConfig,
  | 'EVENTS_STREAM'
  | 'PREDICTIONS_STREAM_NAME'
  | 'DEAD_LETTER_STREAM'
  | 'CONSUMER_GROUP'
  | 'CONSUMER_NAME'
  | 'STREAM_BATCH'
  | 'STREAM_CLAIM_IDLE_MS'
  | 'PREDICTIONS_MAXLEN'
  | 'STREAM_DEDUPE_TTL_S'
>;

export interface ConsumerDeps {
  config: ConsumerConfig;
  /** Commits, claims, group info. */
  redis: Redis;
  /** Blocking reads only (a blocked connection can do nothing else). */
  reader: Redis;
  predictor: Pick<Predictor, 'predict'>;
  metrics: StreamMetrics;
  logger: Logger;
  /** Epoch ms: trips without a pickup time are predicted for this moment. */
  now?: () => number;
}

export interface StreamConsumer {
  /** Runs until stop(); resolves then. Never rejects on Redis or input errors. */
  run(): Promise<void>;
  /** Stops reading; resolves once the batch in hand is committed (or abandoned to a claim, on a timeout outside). */
  stop(): Promise<void>;
  /** The group exists and the last Redis call succeeded. */
  readonly healthy: boolean;
}

type RawEntry = [id: string, fields: string[] | null];
type ReadReply = [stream: string, entries: RawEntry[]][] | null;

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The entry's fields as they came, for a dead letter: its `data` field, or all fields as JSON when it has none. */
function originalData(fields: readonly string[] | null): string {
  if (fields === null) return '';
  const data = fieldOf(fields, 'data');
  if (data !== undefined) return data;
  const all: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) all[fields[i]] = fields[i + 1];
  return JSON.stringify(all);
}

function idMilliseconds(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

export function createStreamConsumer(deps: ConsumerDeps): StreamConsumer {
  const { config, redis, reader, predictor, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  const commit = defineCommit(redis);
  const target: CommitTarget = {
    events: config.EVENTS_STREAM,
    predictions: config.PREDICTIONS_STREAM_NAME,
    deadLetters: config.DEAD_LETTER_STREAM,
    group: config.CONSUMER_GROUP,
    dedupeTtlS: config.STREAM_DEDUPE_TTL_S,
    maxLen: config.PREDICTIONS_MAXLEN,
  };
  const log = logger.child({ stream: config.EVENTS_STREAM, group: config.CONSUMER_GROUP, consumer: config.CONSUMER_NAME });
  let stopping = false;
  let groupReady = false;
  let lastCallOk = false;
  let running: Promise<void> | undefined;
  let readerId: number | undefined;
  let wakeSleep: (() => void) | undefined;
  let onStop: () => void = () => undefined;
  const stopRequested = new Promise<typeof STOPPED>((resolve) => {
    onStop = () => resolve(STOPPED);
  });
  /**
   * A read-side call, given up once stop() comes: nothing it returns would be in hand yet (entries Redis
   * delivered meanwhile stay pending, for this name's next start or a claim). why: while Redis cannot be
   * reached ioredis keeps the call queued, and may never settle it (docs/streaming.md, "Crashes, restarts, shutdown").
   */
  const unlessStopped = <T>(call: Promise<T>): Promise<T | typeof STOPPED> => Promise.race([call, stopRequested]);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wakeSleep = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function ensureGroup(): Promise<void> {
    try {
      // why: `$` = start at new entries (the course's LATEST); MKSTREAM so a consumer may start before any producer.
      await redis.xgroup('CREATE', config.EVENTS_STREAM, config.CONSUMER_GROUP, '$', 'MKSTREAM');
      log.info('consumer group created at the end of the stream');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    groupReady = true;
    log.info(
      { batch: config.STREAM_BATCH, claim_idle_ms: config.STREAM_CLAIM_IDLE_MS, predictions: config.PREDICTIONS_STREAM_NAME },
      'consuming',
    );
  }

  /** One prediction per trip: the batch's run and the trip's index in it, or why this trip could not be predicted. */
  async function predictAll(trips: Trip[]): Promise<({ p: Predictions; j: number } | Error)[]> {
    try {
      const p = await predictor.predict(trips, now());
      return trips.map((_, j) => ({ p, j }));
    } catch (err) {
      if (err instanceof ServiceError && err.code === 'model_not_ready') throw err;
      // why: one trip the model cannot predict must not dead-letter its neighbours: retry them one by one.
      log.warn({ err, trips: trips.length }, 'a batch prediction failed; predicting its trips one by one');
      const each: ({ p: Predictions; j: number } | Error)[] = [];
      for (const trip of trips) {
        try {
          each.push({ p: await predictor.predict([trip], now()), j: 0 });
        } catch (e) {
          if (e instanceof ServiceError && e.code === 'model_not_ready') throw e;
          each.push(e as Error);
        }
      }
      return each;
    }
  }

  /** Validates and predicts a batch: one commit item per entry, in order. */
  async function prepare(entries: RawEntry[]): Promise<CommitItem[]> {
    metrics.batchSize.observe(entries.length);
    const items: (CommitItem | undefined)[] = new Array(entries.length);
    const valid: number[] = [];
    const trips: Trip[] = [];
    for (let i = 0; i < entries.length; i++) {
      const [id, fields] = entries[i];
      const parsed =
        fields === null
          ? { ok: false as const, error: 'the entry was deleted from the stream before it was processed' }
          : parseRideRecord(fieldOf(fields, 'data'));
      if (parsed.ok) {
        valid.push(i);
        trips.push(parsed.trip);
      } else {
        items[i] = { kind: 'dead_letter', id, data: originalData(fields), error: parsed.error };
      }
    }
    if (trips.length > 0) {
      const results = await predictAll(trips);
      for (let k = 0; k < valid.length; k++) {
        const i = valid[k];
        const id = entries[i][0];
        const result = results[k];
        if (result instanceof Error) {
          items[i] = { kind: 'dead_letter', id, data: originalData(entries[i][1]), error: `prediction failed: ${result.message}` };
        } else {
          items[i] = { kind: 'prediction', id, rideId: String(result.p.rideIds[result.j]), data: predictionRecord(result.p, result.j) };
        }
      }
    }
    return items as CommitItem[];
  }

  /** Commits a prepared batch and counts its outcomes. */
  async function commitBatch(entries: RawEntry[], items: CommitItem[]): Promise<void> {
    const { outcomes, redisNowMs } = await commit(target, items);
    let predicted = 0,
      duplicate = 0,
      acked = 0,
      dead = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i];
      if (o === 'p') {
        predicted++;
        metrics.endToEndSeconds.observe(Math.max(0, redisNowMs - idMilliseconds(entries[i][0])) / 1000);
      } else if (o === 'd') duplicate++;
      else if (o === 'a') acked++;
      else dead++;
    }
    metrics.entries.labels('predicted').inc(predicted);
    metrics.entries.labels('duplicate').inc(duplicate);
    metrics.entries.labels('already_acknowledged').inc(acked);
    metrics.entries.labels('dead_lettered').inc(dead);
    if (dead > 0) {
      for (let i = 0; i < outcomes.length; i++) {
        const item = items[i];
        if (outcomes[i] === 'l' && item?.kind === 'dead_letter') log.warn({ entry_id: item.id, error: item.error }, 'entry dead-lettered');
      }
    }
    log.debug({ entries: entries.length, predicted, duplicate, already_acknowledged: acked, dead_lettered: dead }, 'batch committed');
  }

  let groupInfoAt = 0;
  async function refreshGroupInfo(): Promise<void> {
    if (now() - groupInfoAt < GROUP_INFO_EVERY_MS) return;
    groupInfoAt = now();
    const groups = (await redis.xinfo('GROUPS', config.EVENTS_STREAM)) as (string | number | null)[][];
    for (const g of groups) {
      const info: Record<string, string | number | null> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name !== config.CONSUMER_GROUP) continue;
      metrics.setGroupInfo(typeof info.lag === 'number' ? info.lag : undefined, Number(info.pending ?? 0));
    }
  }

  async function readNew(): Promise<RawEntry[]> {
    readerId ??= (await reader.client('ID')) as number;
    if (stopping) return [];
    const reply = (await reader.xreadgroup(
      'GROUP',
      config.CONSUMER_GROUP,
      config.CONSUMER_NAME,
      'COUNT',
      config.STREAM_BATCH,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      config.EVENTS_STREAM,
      '>',
    )) as ReadReply;
    return reply?.[0]?.[1] ?? [];
  }

  async function readOwnPending(after: string): Promise<RawEntry[]> {
    const reply = (await redis.xreadgroup(
      'GROUP',
      config.CONSUMER_GROUP,
      config.CONSUMER_NAME,
      'COUNT',
      config.STREAM_BATCH,
      'STREAMS',
      config.EVENTS_STREAM,
      after,
    )) as ReadReply;
    return reply?.[0]?.[1] ?? [];
  }

  /** Entries other consumers held longer than STREAM_CLAIM_IDLE_MS, from `cursor` on (XAUTOCLAIM). */
  async function claim(cursor: string): Promise<{ cursor: string; entries: RawEntry[] }> {
    const [next, claimed] = (await redis.xautoclaim(
      config.EVENTS_STREAM,
      config.CONSUMER_GROUP,
      config.CONSUMER_NAME,
      config.STREAM_CLAIM_IDLE_MS,
      cursor,
      'COUNT',
      config.STREAM_BATCH,
    )) as [string, RawEntry[], string[]?];
    const entries = claimed.filter((e) => e !== null);
    if (entries.length > 0) {
      metrics.claimed.inc(entries.length);
      log.warn({ entries: entries.length, idle_ms: config.STREAM_CLAIM_IDLE_MS }, 'claimed entries another consumer left pending');
    }
    return { cursor: next, entries };
  }

  // Where reading stands: this consumer's own pending entries after `ownAfter` (until none are left),
  // then the claim scan's cursor and when the next scan is due.
  let ownAfter: string | undefined = '0';
  let claimCursor = '0-0';
  let claimAt = 0;

  /** The next batch, in the order of priority above (possibly empty). */
  async function nextBatch(): Promise<RawEntry[]> {
    if (!groupReady) await ensureGroup();
    if (ownAfter !== undefined) {
      const entries = await readOwnPending(ownAfter);
      ownAfter = entries.length > 0 ? entries[entries.length - 1][0] : undefined;
      if (entries.length > 0) log.info({ entries: entries.length }, 'finishing entries this consumer left pending');
      return entries;
    }
    if (now() >= claimAt) {
      const { cursor, entries } = await claim(claimCursor);
      claimCursor = cursor;
      // why: a full scan of the pending list per half claim interval; a scan that stopped mid-way goes on at once.
      if (cursor === '0-0') claimAt = now() + Math.floor(config.STREAM_CLAIM_IDLE_MS / 2);
      return entries;
    }
    return readNew();
  }

  let inFlight: Promise<void> | undefined;

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      try {
        const entries = await unlessStopped(nextBatch());
        if (entries === STOPPED) break;
        lastCallOk = true;
        failures = 0;
        if (entries.length > 0) {
          log.debug({ entries: entries.length, first_id: entries[0][0] }, 'read a batch');
          const items = await prepare(entries);
          // why: one commit in flight at a time, overlapping the next batch's read and prediction; commits stay in order.
          await inFlight;
          inFlight = commitBatch(entries, items).catch((err: unknown) => {
            metrics.redisErrors.inc();
            log.warn({ err, entries: entries.length }, 'a batch commit failed; its entries stay pending and will be claimed again');
          });
        } else {
          await inFlight;
        }
        if ((await unlessStopped(refreshGroupInfo())) === STOPPED) break;
      } catch (err) {
        if (stopping && /Connection is closed/.test((err as Error).message)) break;
        lastCallOk = false;
        failures++;
        metrics.redisErrors.inc();
        if (/NOGROUP/.test((err as Error).message)) groupReady = false;
        const wait = Math.min(100 * 2 ** Math.min(failures, 10), 5000);
        if (failures === 1 || failures % 20 === 0) log.warn({ err, retry_ms: wait, failures }, 'stream consumer call failed; retrying');
        await sleep(wait);
      }
    }
    await inFlight;
  }

  return {
    run() {
      running ??= loop();
      return running;
    },
    async stop() {
      stopping = true;
      wakeSleep?.();
      onStop();
      // why: a blocked XREADGROUP would hold the shutdown for up to BLOCK_MS; CLIENT UNBLOCK ends it at once (empty reply).
      if (readerId !== undefined && redis.status === 'ready') {
        await redis.client('UNBLOCK', readerId).catch(() => undefined);
      }
      await running;
      // why: a consumer that stopped cleanly holds nothing; removing it keeps XINFO CONSUMERS to the live
      // ones (each pod replacement adds a name). One that still holds entries stays, for a claim to find them.
      if (redis.status === 'ready' && groupReady) {
        try {
          const [, , , held] = (await redis.xpending(config.EVENTS_STREAM, config.CONSUMER_GROUP)) as [
            number,
            unknown,
            unknown,
            [string, string][] | null,
          ];
          if (!(held ?? []).some(([name]) => name === config.CONSUMER_NAME)) {
            await redis.xgroup('DELCONSUMER', config.EVENTS_STREAM, config.CONSUMER_GROUP, config.CONSUMER_NAME);
          }
        } catch (err) {
          log.warn({ err }, 'could not remove this consumer from the group on the way out');
        }
      }
    },
    get healthy() {
      return groupReady && lastCallOk;
    },
  };
}
