import { describe, expect, test } from 'vitest';
import { applyEncoding, fitEncoding, outOfFoldEncoding } from '../../src/training/target-encoding.js';

describe('smoothed target encoding', () => {
  test('When a key has n trips, then its value is (sum + m·prior) / (n + m) and its count is n', () => {
    const keys = [5, 5, 5, 9];
    const y = Float64Array.from([10, 20, 30, 4]);

    const table = fitEncoding(keys, y, 16, 2);

    expect(table.keys).toEqual([5, 9]);
    expect(table.values[0]).toBeCloseTo((60 + 2 * 16) / 5, 5);
    expect(table.values[1]).toBeCloseTo((4 + 2 * 16) / 3, 5);
    expect(table.counts).toEqual([3, 1]);
  });

  test('When a key was never seen, then it backs off to the prior with count 0', () => {
    const table = fitEncoding([1, 2], Float64Array.from([3, 5]), 7.5, 1);

    const { value, count } = applyEncoding(table, [2, 3, -1, 1e12]);

    expect(Array.from(value.slice(1))).toEqual([7.5, 7.5, 7.5]);
    expect(Array.from(count)).toEqual([1, 0, 0, 0]);
  });

  test('When encoding out of fold, then a row never sees its own target and a key seen in one fold is unseen', () => {
    const keys = [1, 1, 1, 1, 2];
    const y = Float64Array.from([10, 10, 10, 1000, 50]);
    const fold = Uint8Array.from([0, 1, 0, 1, 0]);

    const { value, count } = outOfFoldEncoding(keys, y, fold, 2, 20, 0);

    expect(Array.from(value)).toEqual([505, 10, 505, 10, 20]);
    expect(Array.from(count)).toEqual([4, 4, 4, 4, 0]);
  });
});
