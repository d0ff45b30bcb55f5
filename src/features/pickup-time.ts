/**
 * Pickup hour and weekday in New York local time, the time inputs of the time-aware model.
 *
 * TLC files store naive local timestamps (no zone). Readers that decode them as UTC therefore hold
 * the New York wall clock in the UTC fields: use {@link wallClockHourAndDow} for those. Requests carry
 * ISO 8601 strings: with an offset or `Z` they are converted to New York time; without one they are
 * taken as New York wall-clock time, like the TLC data.
 */

export interface HourAndDow {
  /** 0–23 */
  hour: number;
  /** 0 = Monday … 6 = Sunday */
  dow: number;
}

/** For a Date whose UTC fields hold a New York wall-clock time (naive TLC timestamps). */
export function wallClockHourAndDow(date: Date): HourAndDow {
  return { hour: date.getUTCHours(), dow: (date.getUTCDay() + 6) % 7 };
}

const newYorkParts = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  weekday: 'short',
  hour: '2-digit',
});
const WEEKDAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** For an instant (epoch milliseconds): its hour and weekday in America/New_York. */
export function newYorkHourAndDow(epochMs: number): HourAndDow {
  let hour = 0;
  let dow = 0;
  for (const part of newYorkParts.formatToParts(epochMs)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'weekday') dow = WEEKDAY_INDEX[part.value];
  }
  return { hour, dow };
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an ISO 8601 date or date-time. Returns undefined when the text is not one, or names a
 * date that does not exist (2021-02-30, hour 25).
 */
export function pickupHourAndDow(text: string): HourAndDow | undefined {
  const m = ISO_8601.exec(text);
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
  const offsetMinutes = zone.toUpperCase() === 'Z' ? 0 : parseOffsetMinutes(zone);
  if (offsetMinutes === undefined) return undefined;
  return newYorkHourAndDow(wall - offsetMinutes * 60_000);
}

function parseOffsetMinutes(zone: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  if (hours > 23 || minutes > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}
