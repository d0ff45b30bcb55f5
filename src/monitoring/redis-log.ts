/**
 * The prediction log in Redis (REDIS_URL): feedback matches whichever replica or worker logged the
 * prediction, and survives restarts. One hash per ride, `<prefix><ride id>`: a field `v:<model version>`
 * per version holding `[duration, p10, p90, arm]`, a field `done` once its feedback was counted, and
 * the FEEDBACK_TTL_S expiry. Matching is one Lua script, atomic in Redis, so the same feedback sent twice
 * at once, to two replicas, is counted once.
 *
 * The prediction path never waits for Redis: writes are buffered (bounded) and sent as one pipeline per
 * event-loop turn. With Redis down, writes are dropped and counted (prediction_log_errors_total), a
 * warning is logged at most once per interval, and feedback fails fast with 503 + Retry-After.
 */
import type { Redis } from 'ioredis';
import { ServiceError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { MonitoringMetrics } from '../observability/monitoring-metrics.js';
import {
  batchPrediction,
  rideKey,
  type FeedbackItem,
  type LogBatch,
  type LoggedPrediction,
  type MatchResult,
  type PredictionStore,
} from './prediction-log.js';

// why a script: EXISTS, HSETNX done and HGETALL must be one step, or two concurrent feedbacks both match.
const MATCH_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then out[i] = 0
  elseif redis.call('HSETNX', key, 'done', '1') == 0 then out[i] = 1
  else out[i] = redis.call('HGETALL', key) end
end
return out`;

export const REDIS_KEY_PREFIX = 'taxi:ride:';
/** Writes waiting for Redis, at most; beyond, predictions are dropped and counted. */
export const MAX_BUFFERED_WRITES = 50_000;
/** A warning about lost writes at most this often. */
export const ERROR_LOG_INTERVAL_MS = 10_000;
/**
 * Unknown rides are looked up once more after this: the replica that answered the prediction may not
 * have written it yet (its writes leave after the response), and feedback may reach another replica first.
 */
export const UNKNOWN_RECHECK_MS = 250;
/** While Redis is unreachable, buffered writes are retried this often, for max(1 s, 2 × REDIS_TIMEOUT_MS). */
const RETRY_MS = 200;

export interface RedisLogOptions {
  url: string;
  ttlS: number;
  timeoutMs: number;
  logger: Logger;
  metrics: Pick<MonitoringMetrics, 'logErrors'>;
  keyPrefix?: string;
}

type MatchReply = (0 | 1 | string[])[];

export class RedisPredictionLog implements PredictionStore {
  readonly kind = 'redis' as const;
  /** Set once ioredis has loaded (see the constructor); until then the log is not ready, as when Redis is down. */
  private client: Redis | undefined;
  private readonly loading: Promise<void>;
  private readonly ttlMs: number;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly errors: MonitoringMetrics['logErrors'];
  private keys: string[] = [];
  private fields: string[] = [];
  private values: string[] = [];
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lost = 0;
  /** When the oldest buffered write was queued. */
  private bufferedSince = 0;
  private readonly giveUpMs: number;
  private lastWarning = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor({ url, ttlS, timeoutMs, logger, metrics, keyPrefix = REDIS_KEY_PREFIX }: RedisLogOptions) {
    this.ttlMs = ttlS * 1000;
    this.giveUpMs = Math.max(1000, 2 * timeoutMs);
    this.prefix = keyPrefix;
    this.logger = logger;
    this.errors = metrics.logErrors;
    // why imported here: only REDIS_URL needs ioredis (≈ 4 MB of RSS a worker, docs/performance.md
    // "Memory"), so a service without it never loads it. Until it has loaded, writes wait in the bounded
    // buffer and feedback is refused, exactly as while Redis is unreachable.
    this.loading = import('ioredis').then(
      ({ Redis }) => {
        if (this.closed) return;
        const client = new Redis(url, {
          // why: with Redis down a command must fail at once, not wait in ioredis's unbounded offline queue.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: timeoutMs,
          connectTimeout: Math.max(timeoutMs, 1000),
          retryStrategy: (times) => Math.min(100 * 2 ** times, 5000),
          lazyConnect: false,
        });
        client.on('error', (err: Error) => this.warn('the prediction log (Redis) is unreachable', err));
        client.on('ready', () => {
          this.logger.info('prediction log: connected to Redis');
          this.schedule(0);
        });
        this.client = client;
      },
      (err: Error) => this.logger.error({ err }, 'the prediction log (Redis) could not be loaded: predictions are not logged for feedback'),
    );
  }

  put(batch: LogBatch): void {
    const n = batch.rideIds.length;
    const room = MAX_BUFFERED_WRITES - this.keys.length;
    if (room < n) this.lose('buffer_full', n - Math.max(room, 0));
    if (this.keys.length === 0) this.bufferedSince = Date.now();
    for (let i = 0; i < Math.min(n, room); i++) {
      const p = batchPrediction(batch, i);
      this.keys.push(this.prefix + rideKey(batch.rideIds[i]));
      this.fields.push(`v:${p.modelVersion}`);
      this.values.push(JSON.stringify([p.duration, p.p10 ?? null, p.p90 ?? null, p.arm ?? null]));
    }
    this.schedule(0);
  }

  async match(items: readonly FeedbackItem[]): Promise<MatchResult[]> {
    if (this.client?.status !== 'ready') {
      throw new ServiceError('feedback_unavailable', 'the prediction log is unreachable; retry later');
    }
    // why: this instance's own pending writes go first on the same connection, so they are seen.
    this.flush();
    const keys = items.map((it) => this.prefix + rideKey(it.rideId));
    const reply = await this.runMatch(keys);
    const unknown = reply.flatMap((r, i) => (r === 0 ? [i] : []));
    if (unknown.length > 0) {
      await new Promise((r) => setTimeout(r, UNKNOWN_RECHECK_MS));
      const again = await this.runMatch(unknown.map((i) => keys[i]));
      unknown.forEach((i, k) => (reply[i] = again[k]));
    }
    return reply.map((r): MatchResult => {
      if (r === 0) return 'unknown';
      if (r === 1) return 'duplicate';
      const predictions: LoggedPrediction[] = [];
      for (let i = 0; i + 1 < r.length; i += 2) {
        if (!r[i].startsWith('v:')) continue;
        const [duration, p10, p90, arm] = JSON.parse(r[i + 1]) as [number, number | null, number | null, string | null];
        const p: { -readonly [K in keyof LoggedPrediction]: LoggedPrediction[K] } = { modelVersion: r[i].slice(2), duration };
        if (p10 !== null && p90 !== null) {
          p.p10 = p10;
          p.p90 = p90;
        }
        if (arm !== null) p.arm = arm;
        predictions.push(p);
      }
      return predictions.length > 0 ? predictions : 'duplicate';
    });
  }

  private async runMatch(keys: string[]): Promise<MatchReply> {
    try {
      return (await this.client!.eval(MATCH_SCRIPT, keys.length, ...keys)) as MatchReply;
    } catch (err) {
      this.warn('feedback could not be matched: the prediction log (Redis) did not answer', err as Error);
      throw new ServiceError('feedback_unavailable', 'the prediction log did not answer in time; retry later', { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    clearTimeout(this.scheduled as NodeJS.Timeout);
    clearImmediate(this.scheduled as NodeJS.Immediate);
    await this.loading;
    if (this.client === undefined) return;
    await Promise.race([this.client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.client.disconnect();
  }

  private schedule(delayMs: number): void {
    if (this.scheduled !== undefined || this.closed || this.keys.length === 0) return;
    this.scheduled =
      delayMs === 0
        ? setImmediate(() => ((this.scheduled = undefined), this.flush()))
        : setTimeout(() => ((this.scheduled = undefined), this.flush()), delayMs);
  }

  /** Sends every buffered write as one pipeline; keeps them (bounded) while Redis is not ready. */
  private flush(): void {
    const n = this.keys.length;
    if (n === 0) return;
    const { keys, fields, values } = this;
    if (this.client?.status !== 'ready') {
      // why: a short outage loses nothing; a longer one drops what waited longer than the give-up time.
      if (Date.now() - this.bufferedSince < this.giveUpMs) {
        this.schedule(RETRY_MS);
        return;
      }
      this.keys = [];
      this.fields = [];
      this.values = [];
      this.lose('redis_unavailable', n);
      return;
    }
    this.keys = [];
    this.fields = [];
    this.values = [];
    const pipeline = this.client!.pipeline();
    for (let i = 0; i < n; i++) {
      pipeline.hset(keys[i], fields[i], values[i]);
      pipeline.pexpire(keys[i], this.ttlMs);
    }
    pipeline.exec().then(
      (results) => {
        let failed = 0;
        for (let i = 0; i < (results?.length ?? 0); i += 2) if (results![i][0] !== null) failed++;
        if (failed > 0) this.lose('redis', failed, results!.find((r) => r[0] !== null)?.[0] ?? undefined);
      },
      (err: Error) => this.lose('redis', n, err),
    );
  }

  private lose(reason: 'redis' | 'redis_unavailable' | 'buffer_full', count: number, err?: Error): void {
    this.errors.labels(reason).inc(count);
    this.lost += count;
    this.warn('predictions could not be logged for feedback', err, reason);
  }

  private warn(message: string, err?: Error, reason?: string): void {
    const now = Date.now();
    if (now - this.lastWarning < ERROR_LOG_INTERVAL_MS) return;
    this.lastWarning = now;
    this.logger.warn({ err, reason, lost_since_last_warning: this.lost, interval_ms: ERROR_LOG_INTERVAL_MS }, message);
    this.lost = 0;
  }
}
