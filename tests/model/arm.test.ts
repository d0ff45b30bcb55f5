import { describe, expect, test } from 'vitest';
import { fmix32, fnv1a32, isChallengerRide, rideBucket } from '../../src/model/arm.js';

describe('ride arm hash', () => {
  test('When hashing, then FNV-1a 32 and fmix32 give their published values', () => {
    // FNV-1a test vectors (Fowler/Noll/Vo): "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(fmix32(0)).toBe(0);
    // é is hashed as its UTF-8 bytes c3 a9
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193);
    expect(fnv1a32('é')).toBe(h >>> 0);
  });

  test('When a ride id is a number or the same digits as a string, then it lands in the same bucket', () => {
    expect(rideBucket(256)).toBe(rideBucket('256'));
  });

  test.each([
    ['sequential process ids', (i: number) => `3fa85f64-${i.toString(36)}`],
    ['integers', (i: number) => i],
    ['batch ids', (i: number) => `2021/02_${i}`],
  ])('When 20,000 %s are split at 20 percent, then 20 ± 1.5 percent go to the challenger', (_name, id) => {
    let k = 0;
    for (let i = 0; i < 20_000; i++) if (isChallengerRide(id(i), 20)) k++;
    expect(Math.abs(k / 20_000 - 0.2)).toBeLessThan(0.015);
  });

  test('When the percentage is 0 or 100, then no ride or every ride goes to the challenger', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `r${i}`);
    expect(ids.some((id) => isChallengerRide(id, 0))).toBe(false);
    expect(ids.every((id) => isChallengerRide(id, 100))).toBe(true);
  });
});
