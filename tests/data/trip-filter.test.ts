import { describe, expect, test } from 'vitest';
import { filterTrips } from '../../src/data/trip-filter.js';
import { aTrip, rawTrips } from '../support/trip-fixtures.js';

describe('trip filter', () => {
  test('When durations are at and around the 1–60 minute bounds, then only 1 ≤ minutes ≤ 60 are kept', () => {
    const trips = [0.99, 1, 30, 60, 60.01, -5].map((minutes) => aTrip({ minutes }));

    const { table, report } = filterTrips(rawTrips(trips));

    expect(Array.from(table.duration)).toEqual([1, 30, 60]);
    expect(report).toMatchObject({ rowsRead: 6, rowsAfterDurationFilter: 3, rowsKept: 3, dropped: { duration_outside_1_60_min: 3 } });
  });

  test('When rows have missing or impossible fields, then each is dropped and counted under its reason', () => {
    const trips = [
      aTrip(),
      aTrip({ pickup: null }),
      aTrip({ PULocationID: null }),
      aTrip({ trip_distance: null }),
      aTrip({ pickup: new Date(Date.UTC(2009, 0, 1, 0, 5)) }),
      aTrip({ DOLocationID: 266 }),
      aTrip({ PULocationID: 0 }),
      aTrip({ trip_distance: -1.2 }),
      aTrip({ trip_distance: 0 }),
      aTrip({ pickup: new Date(Date.UTC(2020, 11, 31, 23, 50)) }),
    ];

    const { table, report } = filterTrips(rawTrips(trips));

    expect(report.dropped).toEqual({
      duration_outside_1_60_min: 1,
      missing_field: 2,
      impossible_pickup_date: 1,
      zone_out_of_range: 2,
      negative_distance: 1,
    });
    expect(report).toMatchObject({ rowsKept: 3, month: '2021-01' });
    expect(Array.from(table.tripDistance)).toEqual([2.5, 0, 2.5]);
  });

  test('When a trip is kept, then its pickup hour and weekday are the New York wall-clock ones', () => {
    const sundayEvening = new Date(Date.UTC(2021, 0, 3, 21, 15));

    const { table } = filterTrips(rawTrips([aTrip(), aTrip({ pickup: sundayEvening, PULocationID: 7, DOLocationID: 265 })]));

    expect(Array.from(table.pickupHour)).toEqual([10, 21]);
    expect(Array.from(table.pickupDow)).toEqual([1, 6]);
    expect(Array.from(table.puLocationId)).toEqual([10, 7]);
    expect(Array.from(table.doLocationId)).toEqual([20, 265]);
  });
});
