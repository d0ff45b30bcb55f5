import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { predictRequestSchema } from '../../src/http/api-schema.js';
import { parsePredictRequest } from '../../src/features/trip-schema.js';
import { hostileJsonText, hostileTripText } from '../support/hostile.js';

const MAX_BATCH = 3;
const schema = predictRequestSchema(MAX_BATCH);

function handWritten(body: unknown): boolean {
  try {
    parsePredictRequest(body, MAX_BATCH);
    return true;
  } catch {
    return false;
  }
}

/** Values near each rule's edges, and of the wrong types. */
const fieldValue = fc.oneof(
  fc.constantFrom(
    0,
    1,
    265,
    266,
    -0,
    0.5,
    200,
    200.0001,
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    '10',
    '',
    null,
    true,
    [],
    {},
  ),
  fc.integer({ min: -5, max: 300 }),
  fc.double({ min: -10, max: 300, noNaN: true }),
  fc.constantFrom(
    '2021-01-04T08:30:00',
    '2021-01-04T13:30:00Z',
    '2021-02-30T00:00:00',
    '2021-01-04 08:30',
    'x'.repeat(65),
    '2021-01-04T08:30:00+05:30',
  ),
  fc.constantFrom('ride-1', 'a b', 'x'.repeat(64), 'x'.repeat(65), 7, -7, 1.5),
);
const KEYS = ['PULocationID', 'DOLocationID', 'trip_distance', 'pickup_datetime', 'ride_id'] as const;
const trip = fc.record(Object.fromEntries(KEYS.map((k) => [k, fieldValue])) as Record<(typeof KEYS)[number], fc.Arbitrary<unknown>>, {
  requiredKeys: [],
});
const validTrip = fc.record({
  PULocationID: fc.integer({ min: 1, max: 265 }),
  DOLocationID: fc.integer({ min: 1, max: 265 }),
  trip_distance: fc.double({ min: 0, max: 200, noNaN: true }),
});
const body = fc.oneof(
  trip,
  validTrip,
  fc.record({ trips: fc.array(fc.oneof(validTrip, trip), { maxLength: MAX_BATCH + 1 }) }),
  fc.record({ trips: fieldValue }),
  fc.tuple(validTrip, fc.record({ trips: fieldValue })).map(([t, b]) => ({ ...t, ...b })),
  fc.oneof(hostileJsonText, hostileTripText).map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }),
);

describe("POST /predict's zod schema (the OpenAPI document's) and its hand-written validation", () => {
  test('When any body is checked by both, then both accept it or both refuse it', () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (value) => {
        const zod = schema.safeParse(value).success;
        expect(zod, JSON.stringify(value)).toBe(handWritten(value));
        if (zod) accepted++;
      }),
      { numRuns: 3000 },
    );
    // why: a generator that only made refused bodies would prove nothing.
    expect(accepted).toBeGreaterThan(300);
  });
});
