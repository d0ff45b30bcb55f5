/**
 * Where predictions wait for their ground truth, keyed by ride id: the types every store shares, and
 * the embedded store (in memory, bounded by PREDICTION_LOG_MAX rides and FEEDBACK_TTL_S). The Redis
 * store (redis-log.ts) keeps the same contract across replicas and restarts.
 *
 * A ride holds one prediction per model version (the served answer, and any shadow challenger's, each
 * under its own version). Feedback takes them all at once and leaves a marker until the ride expires,
 * so the same feedback sent again, even concurrently, is a duplicate and never counted twice.
 *
 * Ride ids are keyed by their text: 256 and "256" name the same ride (clients in other languages send
 * either).
 */
import type { RideId } from '../features/trip-inputs.js';

/** One model version's prediction for a ride, in minutes. */
export interface LoggedPrediction {
  readonly modelVersion: string;
  readonly duration: number;
  readonly p10?: number;
  readonly p90?: number;
  /** Free-form tag of an experiment's branch (e.g. "champion", "shadow"). */
  readonly arm?: string;
}

/** Predictions of one model version for several rides, as a predictor or an experiment makes them. */
export interface LogBatch {
  readonly rideIds: readonly RideId[];
  readonly modelVersion: string;
  readonly duration: ArrayLike<number>;
  readonly p10?: ArrayLike<number>;
  readonly p90?: ArrayLike<number>;
  readonly arm?: string;
}

export interface FeedbackItem {
  readonly rideId: RideId;
  /** Minutes, finite, in (0, 1440]. */
  readonly actual: number;
}

/** Per feedback item: the ride's predictions (matched), or why there are none. */
export type MatchResult = readonly LoggedPrediction[] | 'unknown' | 'duplicate';

export interface PredictionStore {
  readonly kind: 'memory' | 'redis';
  /** Logs predictions; never throws and never waits (a store that cannot keep them counts the loss). */
  put(batch: LogBatch): void;
  /**
   * Takes the predictions of each ride, in the items' order; a ride matched once is a duplicate from then
   * on. Rejects with ServiceError('feedback_unavailable') when the store cannot answer.
   */
  match(items: readonly FeedbackItem[]): Promise<MatchResult[]>;
  close(): Promise<void>;
}

export function rideKey(id: RideId): string {
  return typeof id === 'number' ? String(id) : id;
}

/** The i-th prediction of a batch as stored: plain numbers (float32 values widen exactly). */
export function batchPrediction(batch: LogBatch, i: number): LoggedPrediction {
  const p: { -readonly [K in keyof LoggedPrediction]: LoggedPrediction[K] } = {
    modelVersion: batch.modelVersion,
    duration: batch.duration[i],
  };
  if (batch.p10 !== undefined && batch.p90 !== undefined) {
    p.p10 = batch.p10[i];
    p.p90 = batch.p90[i];
  }
  if (batch.arm !== undefined) p.arm = batch.arm;
  return p;
}

interface Entry {
  readonly expiresAt: number;
  /** null once the ride's feedback was counted (the marker that makes a second one a duplicate). */
  first: LoggedPrediction | null;
  /** Predictions of other versions (shadow), rare. */
  more?: LoggedPrediction[];
}

export interface MemoryLogOptions {
  maxRides: number;
  ttlMs: number;
  now?: () => number;
}

/**
 * The embedded store: a Map by ride, and a FIFO of the keys in insertion order. Every ride gets the same
 * TTL, so the oldest are at the FIFO's head: expiry and the size bound both evict from there, O(1) per ride.
 *
 * why not the Map's own order: iterating a Map from its start walks over the slots of deleted entries
 * until it rehashes, so evicting from the head of a full Map cost ~1 ms a ride (measured).
 */
export class MemoryPredictionLog implements PredictionStore {
  readonly kind = 'memory' as const;
  private readonly rides = new Map<string, Entry>();
  /** Keys in insertion order, from `head` on (compacted as the head advances). */
  private order: string[] = [];
  private head = 0;
  private readonly maxRides: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Rides evicted before any feedback, since the last `takeEvictions`. */
  private evicted = { expired: 0, full: 0 };

  constructor({ maxRides, ttlMs, now = Date.now }: MemoryLogOptions) {
    this.maxRides = maxRides;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get size(): number {
    return this.rides.size;
  }

  put(batch: LogBatch): void {
    const now = this.now();
    this.expire(now);
    const expiresAt = now + this.ttlMs;
    for (let i = 0; i < batch.rideIds.length; i++) {
      const key = rideKey(batch.rideIds[i]);
      const prediction = batchPrediction(batch, i);
      const entry = this.rides.get(key);
      if (entry === undefined) {
        this.rides.set(key, { expiresAt, first: prediction });
        this.order.push(key);
        if (this.rides.size > this.maxRides) this.evictOldest();
      } else if (entry.first !== null) {
        addPrediction(entry, prediction);
      }
      // why: a ride already counted keeps its marker; a late shadow prediction for it has nothing to match.
    }
  }

  async match(items: readonly FeedbackItem[]): Promise<MatchResult[]> {
    return this.matchNow(items);
  }

  /** `match`, synchronously: the cluster primary answers from it without a turn of the event loop. */
  matchNow(items: readonly FeedbackItem[]): MatchResult[] {
    this.expire(this.now());
    const out = new Array<MatchResult>(items.length);
    for (let i = 0; i < items.length; i++) {
      const entry = this.rides.get(rideKey(items[i].rideId));
      if (entry === undefined) out[i] = 'unknown';
      else if (entry.first === null) out[i] = 'duplicate';
      else {
        out[i] = entry.more === undefined ? [entry.first] : [entry.first, ...entry.more];
        entry.first = null;
        entry.more = undefined;
      }
    }
    return out;
  }

  /** Evictions since the previous call (each handed out once, so counters that add them stay right). */
  takeEvictions(): { expired: number; full: number } {
    const taken = this.evicted;
    this.evicted = { expired: 0, full: 0 };
    return taken;
  }

  async close(): Promise<void> {
    this.rides.clear();
    this.order = [];
    this.head = 0;
  }

  private expire(now: number): void {
    while (this.head < this.order.length) {
      const key = this.order[this.head];
      const entry = this.rides.get(key)!;
      if (entry.expiresAt > now) break;
      this.removeHead(key, entry, 'expired');
    }
  }

  private evictOldest(): void {
    const key = this.order[this.head];
    this.removeHead(key, this.rides.get(key)!, 'full');
  }

  private removeHead(key: string, entry: Entry, reason: 'expired' | 'full'): void {
    this.rides.delete(key);
    if (entry.first !== null) this.evicted[reason]++;
    this.head++;
    // why: drop the consumed prefix once it is most of the array, so memory follows the live rides.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

/** One prediction per version: a version logged again for the same ride replaces its earlier answer. */
function addPrediction(entry: Entry, p: LoggedPrediction): void {
  if (entry.first!.modelVersion === p.modelVersion) {
    entry.first = p;
    return;
  }
  const more = (entry.more ??= []);
  const i = more.findIndex((q) => q.modelVersion === p.modelVersion);
  if (i >= 0) more[i] = p;
  else more.push(p);
}
