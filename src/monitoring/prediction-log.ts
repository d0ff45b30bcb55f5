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
import { type Relocate, RideRing } from './ride-ring.js';

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
  /** Minutes; the in-memory store keeps them as float32, the model's own type. */
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

export interface MemoryLogOptions {
  maxRides: number;
  ttlMs: number;
  now?: () => number;
  /** Seed of the ride-id hash (random by default). */
  hashSeed?: number;
  /** Slots allocated at first (1024), doubled as rides arrive up to maxRides. */
  firstSlots?: number;
}

/** 0 in a version column: no prediction (in `first`: the ride's feedback was counted). */
const NONE = 0;
/** Distinct version and arm strings held at once (Uint16 columns; unused ones are dropped when it fills). */
const MAX_STRINGS = 0xffff;

/**
 * One prediction per slot, as columns: version and arm as indexes into the log's string table,
 * duration and interval as float32 (the model's own precision, so exact; NaN = no interval).
 */
class PredictionColumns {
  version: Uint16Array;
  arm: Uint16Array;
  duration: Float32Array;
  p10: Float32Array;
  p90: Float32Array;

  constructor(slots: number) {
    this.version = new Uint16Array(slots);
    this.arm = new Uint16Array(slots);
    this.duration = new Float32Array(slots);
    this.p10 = new Float32Array(slots);
    this.p90 = new Float32Array(slots);
  }

  write(slot: number, version: number, arm: number, batch: LogBatch, i: number): void {
    this.version[slot] = version;
    this.arm[slot] = arm;
    this.duration[slot] = batch.duration[i];
    const interval = batch.p10 !== undefined && batch.p90 !== undefined;
    this.p10[slot] = interval ? batch.p10![i] : Number.NaN;
    this.p90[slot] = interval ? batch.p90![i] : Number.NaN;
  }

  read(slot: number, strings: readonly string[]): LoggedPrediction {
    const p: { -readonly [K in keyof LoggedPrediction]: LoggedPrediction[K] } = {
      modelVersion: strings[this.version[slot]],
      duration: this.duration[slot],
    };
    if (!Number.isNaN(this.p10[slot])) {
      p.p10 = this.p10[slot];
      p.p90 = this.p90[slot];
    }
    if (this.arm[slot] !== NONE) p.arm = strings[this.arm[slot]];
    return p;
  }

  relocate(relocate: Relocate): void {
    this.version = relocate(this.version);
    this.arm = relocate(this.arm);
    this.duration = relocate(this.duration);
    this.p10 = relocate(this.p10);
    this.p90 = relocate(this.p90);
  }
}

/**
 * The embedded store: rides in a ring of typed-array slots in insertion order (ride-ring.ts). Every ride
 * gets the same TTL, so the oldest are at the head: expiry and the size bound both evict from there, O(1)
 * a ride. A ride's first two versions (the served answer and a shadow challenger's) are columns too;
 * a third and later version, rare, is kept as objects.
 *
 * why typed arrays: a Map of entry objects cost ~1 KB a ride and slow major GCs over 200,000 live
 * entries (docs/monitoring.md, "Memory of the prediction log").
 */
export class MemoryPredictionLog implements PredictionStore {
  readonly kind = 'memory' as const;
  private readonly ring: RideRing;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private first: PredictionColumns;
  /** Allocated when a ride first gets a second version. */
  private second: PredictionColumns | undefined;
  private more = new Map<number, LoggedPrediction[]>();
  /** Version and arm strings; index 0 is NONE. */
  private strings: string[] = [''];
  private stringIds = new Map<string, number>();
  /** Rides evicted before any feedback, since the last `takeEvictions`. */
  private evicted = { expired: 0, full: 0 };

  constructor({ maxRides, ttlMs, now = Date.now, hashSeed, firstSlots }: MemoryLogOptions) {
    this.ttlMs = ttlMs;
    this.now = now;
    this.ring = new RideRing({
      maxRides,
      hashSeed,
      firstSlots,
      onResize: (relocate, renumber) => {
        this.first.relocate(relocate);
        this.second?.relocate(relocate);
        if (this.more.size > 0) this.more = new Map([...this.more].map(([slot, list]) => [renumber(slot), list]));
      },
    });
    this.first = new PredictionColumns(this.ring.slots);
  }

  get size(): number {
    return this.ring.size;
  }

  put(batch: LogBatch): void {
    const now = this.now();
    this.expire(now);
    const expiresAt = now + this.ttlMs;
    if (this.strings.length > MAX_STRINGS - 2) this.dropUnusedStrings();
    const version = this.intern(batch.modelVersion);
    const arm = batch.arm === undefined ? NONE : this.intern(batch.arm);
    if (version === NONE || (batch.arm !== undefined && arm === NONE)) {
      // why: only with ~65,535 distinct versions and arms alive at once; such predictions cannot be kept.
      this.evicted.full += batch.rideIds.length;
      return;
    }
    const ring = this.ring;
    for (let i = 0; i < batch.rideIds.length; i++) {
      let slot = ring.find(batch.rideIds[i]);
      if (slot < 0) {
        if (ring.size === ring.maxRides) this.removeOldest('full');
        slot = ring.add(expiresAt);
        this.first.write(slot, version, arm, batch, i);
        if (this.second !== undefined) this.second.version[slot] = NONE;
      } else if (this.first.version[slot] !== NONE) {
        this.addVersion(slot, version, arm, batch, i);
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
      const slot = this.ring.find(items[i].rideId);
      if (slot < 0) out[i] = 'unknown';
      else if (this.first.version[slot] === NONE) out[i] = 'duplicate';
      else {
        const found = [this.first.read(slot, this.strings)];
        if (this.second !== undefined && this.second.version[slot] !== NONE) {
          found.push(this.second.read(slot, this.strings));
          this.second.version[slot] = NONE;
        }
        const more = this.more.get(slot);
        if (more !== undefined) {
          found.push(...more);
          this.more.delete(slot);
        }
        out[i] = found;
        this.first.version[slot] = NONE;
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
    while (this.ring.size > 0) this.ring.removeOldest();
    this.more.clear();
  }

  private expire(now: number): void {
    while (this.ring.size > 0 && this.ring.expiresAt(this.ring.oldest) <= now) this.removeOldest('expired');
  }

  private removeOldest(reason: 'expired' | 'full'): void {
    const slot = this.ring.removeOldest();
    if (this.first.version[slot] !== NONE) this.evicted[reason]++;
    if (this.more.size > 0) this.more.delete(slot);
  }

  /** One prediction per version: a version logged again for the same ride replaces its earlier answer. */
  private addVersion(slot: number, version: number, arm: number, batch: LogBatch, i: number): void {
    if (this.first.version[slot] === version) return this.first.write(slot, version, arm, batch, i);
    const second = (this.second ??= new PredictionColumns(this.ring.slots));
    if (second.version[slot] === NONE || second.version[slot] === version) return second.write(slot, version, arm, batch, i);
    const p = batchPrediction(batch, i);
    const more = this.more.get(slot);
    if (more === undefined) this.more.set(slot, [p]);
    else {
      const k = more.findIndex((q) => q.modelVersion === p.modelVersion);
      if (k >= 0) more[k] = p;
      else more.push(p);
    }
  }

  /** The string's index; NONE when the table is full. */
  private intern(text: string): number {
    const known = this.stringIds.get(text);
    if (known !== undefined) return known;
    if (this.strings.length === MAX_STRINGS) return NONE;
    this.strings.push(text);
    this.stringIds.set(text, this.strings.length - 1);
    return this.strings.length - 1;
  }

  /** Rebuilds the string table from the strings live rides use (versions come and go over a long life). */
  private dropUnusedStrings(): void {
    const old = this.strings;
    this.strings = [''];
    this.stringIds = new Map();
    const renumber = (columns: PredictionColumns, slot: number) => {
      if (columns.version[slot] === NONE) return;
      columns.version[slot] = this.intern(old[columns.version[slot]]);
      if (columns.arm[slot] !== NONE) columns.arm[slot] = this.intern(old[columns.arm[slot]]);
    };
    for (const slot of this.ring.slotsInOrder()) {
      renumber(this.first, slot);
      if (this.second !== undefined) renumber(this.second, slot);
    }
  }
}
