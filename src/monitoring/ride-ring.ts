/**
 * The rides of the in-memory prediction log (prediction-log.ts) in insertion order, kept in typed arrays
 * off the JS object graph: a major GC never marks them, and a ride costs ~60 bytes with its id's text
 * instead of ~300 bytes of objects (docs/monitoring.md, "Memory of the prediction log").
 *
 * - a ring of slots (head = oldest): every ride gets the same TTL, so expiry and the size bound both
 *   take from the head, O(1) a ride; slots are only ever freed from the head;
 * - each slot's key (the ride id's text, one byte a char) in a byte ring that fills and frees in the same
 *   order, addressed by a running position so a ring that wraps or grows never rewrites offsets;
 * - an open-addressing index (linear probing, backward-shift deletion: no tombstones) from the key's hash
 *   to its slot.
 *
 * Arrays start small and double up to `maxRides`, so a quiet service does not hold the whole log.
 * Callers that keep per-slot columns of their own pass `onResize`: slots are renumbered (head → 0).
 */
import type { RideId } from '../features/trip-inputs.js';
import { fmix32 } from '../model/arm.js';

/** Longest key kept as bytes (RIDE_ID_TEXT's limit); longer ids, or ids with a char above U+00FF, are kept as strings. */
const MAX_INLINE_KEY = 64;
const SIDE_KEY = 255;
const FIRST_SLOTS = 1024;
const KEY_BYTES_PER_SLOT = 16;

type Column = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

/** Renumbers a column to the new ring: slot `head` becomes 0, in order. */
export type Relocate = <T extends Column>(column: T) => T;

export interface RideRingOptions {
  maxRides: number;
  /** Called after the ring grew, with the function that renumbers any per-slot column. */
  onResize?: (relocate: Relocate, oldSlotToNew: (slot: number) => number) => void;
  /** Seed of the key hash (random by default, so ids cannot be chosen offline to share one probe chain). */
  hashSeed?: number;
  firstSlots?: number;
}

export class RideRing {
  readonly maxRides: number;
  private capacity: number;
  private head = 0;
  private count = 0;
  private readonly seed: number;
  private readonly onResize: RideRingOptions['onResize'];

  private expires: Float64Array;
  private hashes: Int32Array;
  private keyAt: Uint32Array;
  private keyLength: Uint8Array;
  /** Keys that do not fit the byte form, by slot. */
  private sideKeys = new Map<number, string>();

  private keyBytes: Uint8Array;
  private keyTail = 0;

  /** slot + 1, 0 = empty. */
  private index: Int32Array;

  /** The last looked-up key: `find` encodes it, `add` stores it. */
  private readonly scratch = new Uint8Array(MAX_INLINE_KEY);
  private scratchLength = 0;
  private scratchHash = 0;
  private scratchText: string | undefined;

  constructor({ maxRides, onResize, hashSeed, firstSlots = FIRST_SLOTS }: RideRingOptions) {
    this.maxRides = maxRides;
    this.onResize = onResize;
    this.seed = (hashSeed ?? Math.random() * 0x1_0000_0000) >>> 0;
    this.capacity = Math.max(1, Math.min(maxRides, firstSlots));
    this.expires = new Float64Array(this.capacity);
    this.hashes = new Int32Array(this.capacity);
    this.keyAt = new Uint32Array(this.capacity);
    this.keyLength = new Uint8Array(this.capacity);
    this.keyBytes = new Uint8Array(powerOfTwoAtLeast(this.capacity * KEY_BYTES_PER_SLOT));
    this.index = new Int32Array(powerOfTwoAtLeast(this.capacity * 2));
  }

  get size(): number {
    return this.count;
  }

  /** Slots allocated (grows to maxRides). */
  get slots(): number {
    return this.capacity;
  }

  /** The oldest ride's slot (size > 0). */
  get oldest(): number {
    return this.head;
  }

  expiresAt(slot: number): number {
    return this.expires[slot];
  }

  /** The slot of `id`, or -1; remembers the key for an `add` that follows. */
  find(id: RideId): number {
    this.encode(id);
    const mask = this.index.length - 1;
    const hash = this.scratchHash;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const entry = this.index[p];
      if (entry === 0) return -1;
      if (this.hashes[entry - 1] === hash && this.holdsScratch(entry - 1)) return entry - 1;
    }
  }

  /** Adds the ride last passed to `find` (which returned -1) as the newest; size < maxRides. */
  add(expiresAt: number): number {
    if (this.count === this.capacity) this.grow();
    const slot = (this.head + this.count) % this.capacity;
    this.count++;
    this.expires[slot] = expiresAt;
    this.hashes[slot] = this.scratchHash;
    this.storeKey(slot);
    const mask = this.index.length - 1;
    let p = this.scratchHash & mask;
    while (this.index[p] !== 0) p = (p + 1) & mask;
    this.index[p] = slot + 1;
    return slot;
  }

  /** Frees the oldest ride's slot (size > 0) and returns it. */
  removeOldest(): number {
    const slot = this.head;
    this.unindex(slot);
    if (this.keyLength[slot] === SIDE_KEY) this.sideKeys.delete(slot);
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return slot;
  }

  /** Slots from oldest to newest. */
  *slotsInOrder(): Generator<number> {
    for (let k = 0; k < this.count; k++) yield (this.head + k) % this.capacity;
  }

  private encode(id: RideId): void {
    const bytes = this.scratch;
    let n = 0;
    this.scratchText = undefined;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) {
      // why: the decimal text without String(id): no string allocated per logged ride.
      let v = id;
      do {
        const digit = v % 10;
        bytes[n++] = 48 + digit;
        v = (v - digit) / 10;
      } while (v > 0);
      for (let a = 0, b = n - 1; a < b; a++, b--) {
        const t = bytes[a];
        bytes[a] = bytes[b];
        bytes[b] = t;
      }
    } else {
      const text = typeof id === 'string' ? id : String(id);
      for (let j = 0; j < text.length && this.scratchText === undefined; j++) {
        const c = text.charCodeAt(j);
        if (c > 0xff || j === MAX_INLINE_KEY) this.scratchText = text;
        else bytes[n++] = c;
      }
    }
    this.scratchLength = this.scratchText === undefined ? n : 0;
    this.scratchHash = this.scratchText === undefined ? hashKeyBytes(bytes, n, this.seed) : hashKeyText(this.scratchText, this.seed);
  }

  private holdsScratch(slot: number): boolean {
    if (this.scratchText !== undefined) return this.keyLength[slot] === SIDE_KEY && this.sideKeys.get(slot) === this.scratchText;
    const n = this.scratchLength;
    if (this.keyLength[slot] !== n) return false;
    const bytes = this.keyBytes;
    const mask = bytes.length - 1;
    const at = this.keyAt[slot];
    for (let j = 0; j < n; j++) if (bytes[(at + j) & mask] !== this.scratch[j]) return false;
    return true;
  }

  private storeKey(slot: number): void {
    if (this.scratchText !== undefined) {
      this.keyLength[slot] = SIDE_KEY;
      this.keyAt[slot] = this.keyTail;
      this.sideKeys.set(slot, this.scratchText);
      return;
    }
    const n = this.scratchLength;
    // Bytes in use run from the oldest key to the tail; a ride alone in the ring starts them over at 0.
    const used = this.count === 1 ? 0 : (this.keyTail - this.keyAt[this.head]) >>> 0;
    if (this.count === 1) this.keyTail = 0;
    if (used + n > this.keyBytes.length) this.growKeyBytes(used, n);
    const bytes = this.keyBytes;
    const mask = bytes.length - 1;
    const at = this.keyTail;
    for (let j = 0; j < n; j++) bytes[(at + j) & mask] = this.scratch[j];
    this.keyAt[slot] = at;
    this.keyLength[slot] = n;
    this.keyTail = (at + n) >>> 0;
  }

  /** Same running positions, a larger power of two: every live key keeps its offset. */
  private growKeyBytes(used: number, adding: number): void {
    const old = this.keyBytes;
    const bigger = new Uint8Array(powerOfTwoAtLeast(Math.max(used + adding, old.length * 2)));
    const from = (this.keyTail - used) >>> 0;
    const oldMask = old.length - 1;
    const newMask = bigger.length - 1;
    for (let k = 0; k < used; k++) {
      const p = (from + k) >>> 0;
      bigger[p & newMask] = old[p & oldMask];
    }
    this.keyBytes = bigger;
  }

  private grow(): void {
    const oldCapacity = this.capacity;
    const capacity = Math.min(this.maxRides, oldCapacity * 2);
    const head = this.head;
    const relocate: Relocate = (column) => {
      const next = new (column.constructor as new (n: number) => typeof column)(capacity);
      next.set(column.subarray(head));
      next.set(column.subarray(0, head), oldCapacity - head);
      return next;
    };
    const renumber = (slot: number) => (slot - head + oldCapacity) % oldCapacity;
    this.expires = relocate(this.expires);
    this.hashes = relocate(this.hashes);
    this.keyAt = relocate(this.keyAt);
    this.keyLength = relocate(this.keyLength);
    if (this.sideKeys.size > 0) this.sideKeys = new Map([...this.sideKeys].map(([slot, key]) => [renumber(slot), key]));
    this.capacity = capacity;
    this.head = 0;
    this.index = new Int32Array(powerOfTwoAtLeast(capacity * 2));
    const mask = this.index.length - 1;
    for (let slot = 0; slot < this.count; slot++) {
      let p = this.hashes[slot] & mask;
      while (this.index[p] !== 0) p = (p + 1) & mask;
      this.index[p] = slot + 1;
    }
    this.onResize?.(relocate, renumber);
  }

  /** Removes `slot` from the index, shifting back the entries after it that probed past it. */
  private unindex(slot: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let hole = this.hashes[slot] & mask;
    while (index[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let p = (hole + 1) & mask; index[p] !== 0; p = (p + 1) & mask) {
      const home = this.hashes[index[p] - 1] & mask;
      // The entry stays when its home lies cyclically in (hole, p]: moving it would put it before its home.
      const stays = hole <= p ? hole < home && home <= p : hole < home || home <= p;
      if (!stays) {
        index[hole] = index[p];
        hole = p;
      }
    }
    index[hole] = 0;
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** FNV-1a over the key's chars from a seeded basis, then mixed: the index's hash of a ride id. */
export function hashKeyBytes(bytes: Uint8Array, length: number, seed: number): number {
  let h = (seed ^ 0x811c9dc5) | 0;
  for (let j = 0; j < length; j++) h = Math.imul(h ^ bytes[j], 0x01000193);
  // why the finalizer: FNV's low bits depend only on the chars' low bits, and the index uses the low bits.
  return fmix32(h) | 0;
}

function hashKeyText(text: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) | 0;
  for (let j = 0; j < text.length; j++) h = Math.imul(h ^ text.charCodeAt(j), 0x01000193);
  return fmix32(h) | 0;
}
