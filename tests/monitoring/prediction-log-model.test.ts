import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { RideId } from '../../src/features/trip-inputs.js';
import {
  type FeedbackItem,
  type LogBatch,
  type LoggedPrediction,
  type MatchResult,
  MemoryPredictionLog,
  rideKey,
} from '../../src/monitoring/prediction-log.js';
import { hashKeyBytes } from '../../src/monitoring/ride-ring.js';

/** The contract in its plainest form: a Map by ride key and an array of keys in insertion order. */
class ReferenceLog {
  private readonly rides = new Map<string, { expiresAt: number; predictions: LoggedPrediction[] | null }>();
  private order: string[] = [];
  private evicted = { expired: 0, full: 0 };

  constructor(
    private readonly maxRides: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.rides.size;
  }

  put(batch: LogBatch): void {
    this.expire();
    batch.rideIds.forEach((id, i) => {
      const key = rideKey(id);
      const p: { -readonly [K in keyof LoggedPrediction]: LoggedPrediction[K] } = {
        modelVersion: batch.modelVersion,
        duration: Math.fround(batch.duration[i]),
      };
      if (batch.p10 !== undefined && batch.p90 !== undefined) {
        p.p10 = Math.fround(batch.p10[i]);
        p.p90 = Math.fround(batch.p90[i]);
      }
      if (batch.arm !== undefined) p.arm = batch.arm;
      const ride = this.rides.get(key);
      if (ride === undefined) {
        if (this.rides.size === this.maxRides) this.removeOldest('full');
        this.rides.set(key, { expiresAt: this.now() + this.ttlMs, predictions: [p] });
        this.order.push(key);
      } else if (ride.predictions !== null) {
        const k = ride.predictions.findIndex((q) => q.modelVersion === p.modelVersion);
        if (k >= 0) ride.predictions[k] = p;
        else ride.predictions.push(p);
      }
    });
  }

  match(items: readonly FeedbackItem[]): MatchResult[] {
    this.expire();
    return items.map(({ rideId }) => {
      const ride = this.rides.get(rideKey(rideId));
      if (ride === undefined) return 'unknown';
      if (ride.predictions === null) return 'duplicate';
      const found = ride.predictions;
      ride.predictions = null;
      return found;
    });
  }

  takeEvictions(): { expired: number; full: number } {
    const taken = this.evicted;
    this.evicted = { expired: 0, full: 0 };
    return taken;
  }

  private expire(): void {
    while (this.order.length > 0 && this.rides.get(this.order[0])!.expiresAt <= this.now()) this.removeOldest('expired');
  }

  private removeOldest(reason: 'expired' | 'full'): void {
    const key = this.order.shift()!;
    if (this.rides.get(key)!.predictions !== null) this.evicted[reason]++;
    this.rides.delete(key);
  }
}

const SEED = 7;

/** Pairs of ids whose 32-bit hashes are equal under SEED (a birthday search), so probing must compare the bytes. */
function collidingIds(pairs: number): string[] {
  const seen = new Map<number, string>();
  const out: string[] = [];
  const bytes = new Uint8Array(64);
  for (let i = 0; out.length < pairs * 2; i++) {
    const id = `c${i}`;
    for (let j = 0; j < id.length; j++) bytes[j] = id.charCodeAt(j);
    const hash = hashKeyBytes(bytes, id.length, SEED);
    const other = seen.get(hash);
    if (other === undefined) seen.set(hash, id);
    else out.push(other, id);
  }
  return out;
}

const COLLIDING = collidingIds(3);
const LONG = 'x'.repeat(63);
const ID_POOL: readonly RideId[] = [
  ...Array.from({ length: 12 }, (_, i) => i),
  ...Array.from({ length: 12 }, (_, i) => String(i)),
  256,
  '256',
  '0256',
  Number.MAX_SAFE_INTEGER,
  String(Number.MAX_SAFE_INTEGER),
  1.5,
  '1.5',
  'r-1',
  'r-2',
  `${LONG}a`,
  `${LONG}b`,
  `a${LONG}`,
  '',
  'é-ride',
  'ride-€',
  'y'.repeat(65),
  `${'y'.repeat(64)}z`,
  ...COLLIDING,
];

type Op =
  | { kind: 'put'; ids: RideId[]; version: string; arm?: string; interval: boolean; values: number[] }
  | { kind: 'match'; ids: RideId[] }
  | { kind: 'advance'; ms: number }
  | { kind: 'evictions' };

const rideIds = fc.array(fc.constantFrom(...ID_POOL), { minLength: 1, maxLength: 8 });
const value = fc.float({ noNaN: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      ids: rideIds,
      version: fc.constantFrom('m/1', 'm/2', 'c/1', 'c/2'),
      arm: fc.option(fc.constantFrom('shadow', 'champion'), { nil: undefined }),
      interval: fc.boolean(),
      values: fc.array(value, { minLength: 24, maxLength: 24 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('match' as const), ids: rideIds }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'evictions' as const }) },
);

function batchOf(o: Extract<Op, { kind: 'put' }>): LogBatch {
  const n = o.ids.length;
  const column = (from: number) => Float32Array.from(o.values.slice(from, from + n));
  return {
    rideIds: o.ids,
    modelVersion: o.version,
    duration: column(0),
    ...(o.interval ? { p10: column(8), p90: column(16) } : {}),
    ...(o.arm !== undefined ? { arm: o.arm } : {}),
  };
}

function runAgainstReference(maxRides: number, ttlMs: number, firstSlots: number, ops: readonly Op[]): void {
  let now = 1_000;
  const log = new MemoryPredictionLog({ maxRides, ttlMs, now: () => now, hashSeed: SEED, firstSlots });
  const reference = new ReferenceLog(maxRides, ttlMs, () => now);
  for (const o of ops) {
    if (o.kind === 'put') {
      const batch = batchOf(o);
      log.put(batch);
      reference.put(batch);
    } else if (o.kind === 'match') {
      const items = o.ids.map((rideId) => ({ rideId, actual: 1 }));
      expect(log.matchNow(items)).toEqual(reference.match(items));
    } else if (o.kind === 'advance') now += o.ms;
    else expect(log.takeEvictions()).toEqual(reference.takeEvictions());
    expect(log.size).toBe(reference.size);
  }
  expect(log.takeEvictions()).toEqual(reference.takeEvictions());
}

describe('MemoryPredictionLog against a Map-based reference', () => {
  test('the birthday search found ids whose full hashes collide', () => {
    expect(COLLIDING).toHaveLength(6);
    expect(new Set(COLLIDING).size).toBe(6);
  });

  test('When puts, feedback, clock moves and eviction reads come in any order, then every answer, size and eviction count is the reference’s', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(op, { maxLength: 150, size: 'max' }),
        (maxRides, ttlMs, firstSlots, ops) => runAgainstReference(maxRides, ttlMs, firstSlots, ops),
      ),
      { numRuns: 200 },
    );
  });

  test('When the size bound wraps the ring many times while it grows, then it still agrees with the reference', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 40 }), fc.array(op, { minLength: 1500, maxLength: 2000 }), (maxRides, ops) =>
        runAgainstReference(maxRides, 1e9, 1, ops),
      ),
      { numRuns: 15, endOnFailure: true },
    );
  });

  test('When a full log takes ten times its size in new rides, then matching the newest finds every one and the oldest are gone', () => {
    const log = new MemoryPredictionLog({ maxRides: 5000, ttlMs: 1e9, now: () => 0, firstSlots: 16 });
    const ids = Array.from({ length: 50_000 }, (_, i) => (i % 2 === 0 ? i : `ride-${i}`));
    for (let i = 0; i < ids.length; i += 100) {
      log.put({ rideIds: ids.slice(i, i + 100), modelVersion: 'm/1', duration: Float32Array.from({ length: 100 }, (_, k) => i + k) });
    }
    expect(log.size).toBe(5000);
    const results = log.matchNow(ids.map((rideId) => ({ rideId, actual: 1 })));
    results.forEach((r, i) => expect(r).toEqual(i < 45_000 ? 'unknown' : [{ modelVersion: 'm/1', duration: i }]));
    expect(log.takeEvictions()).toEqual({ expired: 0, full: 45_000 });
  });

  test('When more distinct versions pass through than the string table holds, then live rides keep their versions', () => {
    const log = new MemoryPredictionLog({ maxRides: 10, ttlMs: 1e9, now: () => 0 });
    for (let v = 0; v < 70_000; v++) log.put({ rideIds: [v], modelVersion: `m/${v}`, duration: [v % 100], arm: 'a' });
    const results = log.matchNow(Array.from({ length: 10 }, (_, i) => ({ rideId: 69_990 + i, actual: 1 })));
    expect(results).toEqual(
      Array.from({ length: 10 }, (_, i) => [{ modelVersion: `m/${69_990 + i}`, duration: (69_990 + i) % 100, arm: 'a' }]),
    );
  });
});
