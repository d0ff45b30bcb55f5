import { describe, expect, test } from 'vitest';
import { newYorkHourAndDow, pickupHourAndDow, wallClockHourAndDow } from '../../src/features/pickup-time.js';

describe('pickup time in New York', () => {
  test('When the timestamp has no zone, then it is New York wall-clock time', () => {
    // 2021-01-04 was a Monday
    expect(pickupHourAndDow('2021-01-04T08:30:00')).toEqual({ hour: 8, dow: 0 });
    expect(pickupHourAndDow('2021-01-10 23:59:59')).toEqual({ hour: 23, dow: 6 });
    expect(pickupHourAndDow('2021-01-05')).toEqual({ hour: 0, dow: 1 });
  });

  test('When the timestamp is UTC or has an offset, then it is converted to New York time', () => {
    // 13:30Z in January is 08:30 EST (UTC-5); in July it is 09:30 EDT (UTC-4)
    expect(pickupHourAndDow('2021-01-04T13:30:00Z')).toEqual({ hour: 8, dow: 0 });
    expect(pickupHourAndDow('2021-07-05T13:30:00.123Z')).toEqual({ hour: 9, dow: 0 });
    // 02:00Z Tuesday is still Monday 21:00 in New York
    expect(pickupHourAndDow('2021-01-05T02:00:00+00:00')).toEqual({ hour: 21, dow: 0 });
    expect(pickupHourAndDow('2021-01-04T10:30:00+0200')).toEqual({ hour: 3, dow: 0 });
  });

  test('When the text is not an ISO 8601 date or names an impossible date, then it is rejected', () => {
    for (const bad of ['', 'yesterday', '2021-02-30T10:00:00', '2021-01-04T25:00:00', '2021-13-01', '2021-01-04T10:00:00+25:00', '1612345678']) {
      expect(pickupHourAndDow(bad), bad).toBeUndefined();
    }
  });

  test('When a naive TLC timestamp is decoded as UTC, then its UTC fields give the hour and weekday', () => {
    expect(wallClockHourAndDow(new Date(Date.UTC(2021, 0, 3, 17, 5)))).toEqual({ hour: 17, dow: 6 });
    expect(newYorkHourAndDow(Date.UTC(2021, 0, 4, 5, 0))).toEqual({ hour: 0, dow: 0 });
  });
});
