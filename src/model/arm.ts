/**
 * Which arm answers a ride in split mode: a stable hash of the ride id, so that a ride (and the
 * feedback that later arrives for it) always lands on the same arm, on every worker and replica,
 * without coordination (docs/experiments.md, "Split").
 *
 * bucket(ride_id) = fmix32(FNV-1a-32(UTF-8 bytes of String(ride_id))) mod 10000; the challenger answers
 * when bucket < percent × 100. FNV-1a alone distributes sequential ids ("…-1", "…-2") poorly in its
 * low digits; murmur3's 32-bit finalizer (fmix32) mixes every input bit into every output bit.
 * String(ride_id) makes the number 256 and the string "256" the same ride, as feedback keys them.
 */
import type { RideId } from '../features/trip-inputs.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Buckets per 100 %: percentages to two decimals (0.25 % of traffic is expressible). */
export const BUCKETS = 10_000;

/** FNV-1a 32-bit over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return fnv1a32Bytes(Buffer.from(text, 'utf8'));
    hash = Math.imul(hash ^ c, FNV_PRIME);
  }
  return hash >>> 0;
}

function fnv1a32Bytes(bytes: Uint8Array): number {
  let hash = FNV_OFFSET;
  for (const b of bytes) hash = Math.imul(hash ^ b, FNV_PRIME);
  return hash >>> 0;
}

/** murmur3's fmix32 finalizer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The ride's bucket in [0, BUCKETS). */
export function rideBucket(rideId: RideId): number {
  return fmix32(fnv1a32(String(rideId))) % BUCKETS;
}

/** True when the challenger answers this ride at `percent` (0–100) of traffic. */
export function isChallengerRide(rideId: RideId, percent: number): boolean {
  return rideBucket(rideId) < Math.round(percent * (BUCKETS / 100));
}
