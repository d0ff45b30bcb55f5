import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { newYorkHourAndDow, newYorkOffsetHours, pickupHourAndDow, wallClockHourAndDow } from '../../src/features/pickup-time.js';

describe('pickup time in New York', () => {
  test('When the timestamp has no zone, then it is New York wall-clock time', () => {
    // 2021-01-04 was a Monday
    expect(pickupHourAndDow('2021-01-04T08:30:00')).toMatchObject({ hour: 8, dow: 0 });
    expect(pickupHourAndDow('2021-01-10 23:59:59')).toMatchObject({ hour: 23, dow: 6 });
    expect(pickupHourAndDow('2021-01-05')).toMatchObject({ hour: 0, dow: 1 });
  });

  test('When the timestamp is UTC or has an offset, then it is converted to New York time', () => {
    // 13:30Z in January is 08:30 EST (UTC-5); in July it is 09:30 EDT (UTC-4)
    expect(pickupHourAndDow('2021-01-04T13:30:00Z')).toMatchObject({ hour: 8, dow: 0 });
    expect(pickupHourAndDow('2021-07-05T13:30:00.123Z')).toMatchObject({ hour: 9, dow: 0 });
    // 02:00Z Tuesday is still Monday 21:00 in New York
    expect(pickupHourAndDow('2021-01-05T02:00:00+00:00')).toMatchObject({ hour: 21, dow: 0 });
    expect(pickupHourAndDow('2021-01-04T10:30:00+0200')).toMatchObject({ hour: 3, dow: 0 });
  });

  test('When the text is not an ISO 8601 date or names an impossible date, then it is rejected', () => {
    for (const bad of [
      '',
      'yesterday',
      '2021-02-30T10:00:00',
      '2021-01-04T25:00:00',
      '2021-13-01',
      '2021-01-04T10:00:00+25:00',
      '1612345678',
    ]) {
      expect(pickupHourAndDow(bad), bad).toBeUndefined();
    }
  });

  test('When a naive TLC timestamp is decoded as UTC, then its UTC fields give the hour and weekday', () => {
    expect(wallClockHourAndDow(new Date(Date.UTC(2021, 0, 3, 17, 5)))).toEqual({ hour: 17, dow: 6 });
    expect(newYorkHourAndDow(Date.UTC(2021, 0, 4, 5, 0))).toEqual({ hour: 0, dow: 0 });
  });
});

/** The regex-and-Date parser this module had before it was hand-written for speed: the reference. */
function referenceParse(text: string) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = m;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(wall);
  if (
    Number.isNaN(wall) ||
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  ) {
    return undefined;
  }
  if (zone === undefined) return wallClockHourAndDow(check);
  let offset = 0;
  if (zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(z[2]) > 23 || Number(z[3]) > 59) return undefined;
    offset = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  return newYorkHourAndDow(wall - offset * 60_000);
}

test('When a pickup time is parsed, then its instant is kept for the drift window, New York wall clock or with an offset', () => {
  expect(pickupHourAndDow('2021-01-04T08:30:00')?.ms).toBe(Date.UTC(2021, 0, 4, 13, 30));
  expect(pickupHourAndDow('2021-07-04T08:30:00')?.ms).toBe(Date.UTC(2021, 6, 4, 12, 30));
  expect(pickupHourAndDow('2021-01-04T13:30:00Z')?.ms).toBe(Date.UTC(2021, 0, 4, 13, 30));
  expect(pickupHourAndDow('2021-01-04T10:30:00+0200')?.ms).toBe(Date.UTC(2021, 0, 4, 8, 30));
});

describe('pickupHourAndDow against the regex reference', () => {
  const pad = (v: number, width: number) => String(v).padStart(width, '0');
  // Mostly well-formed timestamps around the edges (month ends, leap days, DST changes, offsets), plus mutations.
  const timestamp = fc
    .record({
      year: fc.oneof(fc.integer({ min: 1890, max: 2100 }), fc.integer({ min: 0, max: 9999 })),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 25 }),
      minute: fc.integer({ min: 0, max: 61 }),
      second: fc.integer({ min: 0, max: 61 }),
      fraction: fc.option(fc.stringMatching(/^[0-9]{0,11}$/)),
      separator: fc.constantFrom('T', 't', ' ', 'X'),
      parts: fc.constantFrom('date', 'minutes', 'seconds'),
      zone: fc.constantFrom('', 'Z', 'z', '+00:00', '-05:00', '+0530', '-0400', '+25:00', '+05:60', '+5:00', '-05:0', 'Q'),
    })
    .map((t) => {
      let text = `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}`;
      if (t.parts !== 'date') text += `${t.separator}${pad(t.hour, 2)}:${pad(t.minute, 2)}`;
      if (t.parts === 'seconds') text += `:${pad(t.second, 2)}${t.fraction === null ? '' : `.${t.fraction}`}`;
      return text + t.zone;
    });
  const mutated = fc
    .tuple(timestamp, fc.nat(30), fc.string({ maxLength: 2 }))
    .map(([text, at, insert]) => text.slice(0, at) + insert + text.slice(at + 1));

  test('When any timestamp-like text is parsed, then the result equals the reference', () => {
    fc.assert(
      fc.property(fc.oneof(timestamp, mutated, fc.string({ maxLength: 40 })), (text) => {
        const got = pickupHourAndDow(text);
        expect(got && { hour: got.hour, dow: got.dow }).toEqual(referenceParse(text));
      }),
      { numRuns: 20_000 },
    );
  });

  test('When instants cross the 2021 DST changes, then the cached New York hour matches Intl at every quarter hour', () => {
    for (const start of [Date.UTC(2021, 2, 14, 0), Date.UTC(2021, 10, 7, 0)]) {
      for (let t = start; t < start + 12 * 3_600_000; t += 15 * 60_000) {
        const parts = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', hour: '2-digit' }).formatToParts(
          t,
        );
        expect(newYorkHourAndDow(t).hour).toBe(Number(parts.find((p) => p.type === 'hour')!.value));
      }
    }
  });
});

describe('New York time without Intl', () => {
  const intl = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', weekday: 'short', hour: '2-digit' });
  const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const byIntl = (t: number) => {
    const parts = intl.formatToParts(t);
    return {
      hour: Number(parts.find((p) => p.type === 'hour')!.value),
      dow: WEEKDAYS.indexOf(parts.find((p) => p.type === 'weekday')!.value),
    };
  };

  test("When instants span 1985–2101, then the hour and weekday equal Intl's America/New_York: every hour of March, April, October and November, two a day otherwise", () => {
    const HOUR = 3_600_000;
    let checked = 0;
    for (let year = 1985; year <= 2101; year++) {
      for (let month = 0; month < 12; month++) {
        const transitions = month === 2 || month === 3 || month === 9 || month === 10;
        const end = Date.UTC(year, month + 1, 1);
        for (let t = Date.UTC(year, month, 1); t < end; t += transitions ? HOUR : 12 * HOUR) {
          const at = t + (checked % 4) * 15 * 60_000;
          const got = newYorkHourAndDow(at);
          const want = byIntl(at);
          if (got.hour !== want.hour || got.dow !== want.dow) {
            expect({ at: new Date(at).toISOString(), ...got }).toEqual({ at: new Date(at).toISOString(), ...want });
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(390_000);
  });

  test('When an instant lies outside 1987–2099, then there is no rule offset and Intl answers', () => {
    expect(newYorkOffsetHours(Date.UTC(2021, 0, 4))).toBe(-5);
    expect(newYorkOffsetHours(Date.UTC(2021, 6, 4))).toBe(-4);
    expect(newYorkOffsetHours(Date.UTC(1986, 6, 4))).toBeUndefined();
    expect(newYorkOffsetHours(Date.UTC(2100, 6, 4))).toBeUndefined();
    expect(newYorkHourAndDow(Date.UTC(1975, 0, 6, 17))).toEqual(byIntl(Date.UTC(1975, 0, 6, 17)));
  });
});
