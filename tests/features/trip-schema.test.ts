import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import { parsePredictRequest } from '../../src/features/trip-schema.js';

const zone = fc.integer({ min: 1, max: 265 });
const distance = fc.double({ min: 0, max: 200, noNaN: true });
const validTrip = fc.record({ PULocationID: zone, DOLocationID: zone, trip_distance: distance });

describe('parsePredictRequest', () => {
  test('When any JSON value is sent, then it is either accepted or refused with a ServiceError naming fields', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ trips: fc.array(fc.jsonValue(), { maxLength: 20 }) }),
          fc.dictionary(
            fc.constantFrom('PULocationID', 'DOLocationID', 'trip_distance', 'pickup_datetime', '__proto__', 'trips'),
            fc.jsonValue(),
          ),
        ),
        (body) => {
          try {
            parsePredictRequest(body, 10);
          } catch (err) {
            expect(err).toBeInstanceOf(ServiceError);
            const e = err as ServiceError;
            expect(['invalid_input', 'batch_too_large']).toContain(e.code);
            if (e.code === 'invalid_input') expect(e.errors!.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('When a trip follows the rules, then it is accepted as sent', () => {
    fc.assert(
      fc.property(validTrip, (trip) => {
        expect(parsePredictRequest(trip, 10)).toEqual({ kind: 'single', trip: { ...trip, pickup: undefined } });
      }),
    );
  });

  test('When one batch trip breaks a rule, then the error names that trip by index', () => {
    fc.assert(
      fc.property(fc.array(validTrip, { minLength: 1, maxLength: 10 }), fc.nat(), (trips, pick) => {
        const i = pick % trips.length;
        const bad = trips.map((t, j) => (j === i ? { ...t, trip_distance: -1 } : t));
        expect(() => parsePredictRequest({ trips: bad }, 10)).toThrow(
          expect.objectContaining({ errors: [expect.objectContaining({ field: `trips[${i}].trip_distance` })] }),
        );
      }),
    );
  });

  test.each([
    ['2021-01-04', /needs a time of day/],
    ['1900-01-04T08:30:00', /year must be between 2000 and 2100/],
    ['9999-12-31T23:59:59Z', /year must be between 2000 and 2100/],
  ])('When pickup_datetime is %s, then it is refused with a message saying why', (when, message) => {
    let error: ServiceError | undefined;
    try {
      parsePredictRequest({ PULocationID: 1, DOLocationID: 2, trip_distance: 3, pickup_datetime: when }, 10);
    } catch (err) {
      error = err as ServiceError;
    }
    expect(error?.errors).toEqual([{ field: 'pickup_datetime', message: expect.stringMatching(message) }]);
  });
});
