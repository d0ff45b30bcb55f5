import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { minutes, minutesJson } from '../../../src/features/minutes.js';

// The reference: how a prediction's minutes were always written, JSON text of the rounded number.
const reference = (v: number) => JSON.stringify(minutes(v));

describe('minutes in the response body', () => {
  test('When a model output is written, then its text is exactly the rounded number as JSON, for any float32', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
        expect(minutesJson(v)).toBe(reference(v));
      }),
      { numRuns: 20_000 },
    );
  });

  test('When outputs sit at rounding edges, zero, negative or huge, then the text still matches', () => {
    const edges = [
      0,
      -0,
      0.0004,
      0.0005,
      -0.0004,
      -0.0005,
      -0.0006,
      0.001,
      0.01,
      0.1,
      0.999,
      0.9995,
      1,
      12.5,
      12.05,
      12.005,
      99.9995,
      -12.05,
      1e6 + 0.001,
      2 ** 31,
      1e12 + 0.5,
      1e15,
      -1e18,
      3.4e38,
    ];
    for (const v of [...edges, ...edges.map(Math.fround)]) expect(minutesJson(v), String(v)).toBe(reference(v));
  });

  test('When durations span the service range, then every thousandth from 0 to 300 minutes is written as before', () => {
    for (let k = 0; k <= 300_000; k++) {
      const v = Math.fround(k / 1000);
      if (minutesJson(v) !== reference(v)) expect(minutesJson(v), `k=${k}`).toBe(reference(v));
    }
  });
});
