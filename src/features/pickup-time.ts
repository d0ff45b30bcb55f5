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
  /** The instant, epoch milliseconds, when parsed from a request (the drift window's clock). */
  ms?: number;
}

/** For a Date whose UTC fields hold a New York wall-clock time (naive TLC timestamps). */
export function wallClockHourAndDow(date: Date): HourAndDow {
  return { hour: date.getUTCHours(), dow: (date.getUTCDay() + 6) % 7 };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * New York's offset from UTC in hours (-5, or -4 in daylight time) at an instant of 1987–2099, by the
 * US rules: since 2007 daylight time runs from the second Sunday of March, 02:00 EST (07:00 UTC), to
 * the first Sunday of November, 02:00 EDT (06:00 UTC); 1987–2006, from the first Sunday of April to the
 * last Sunday of October, same hours. Undefined outside those years.
 *
 * why not Intl: its time-zone data lives in node's ICU, and the pages it touches cost a worker ≈ 6 MB
 * of RSS (docs/performance.md, "Memory"). tests/features/pickup-time.test.ts holds these rules equal to
 * Intl's America/New_York over 1987–2099, so a change of the law, once in Node's tz data, fails there.
 */
export function newYorkOffsetHours(epochMs: number): number | undefined {
  const year = new Date(epochMs).getUTCFullYear();
  if (!(year >= 1987 && year <= 2099)) return undefined;
  const start = (year >= 2007 ? nthSunday(year, 2, 2) : nthSunday(year, 3, 1)) + 7 * HOUR_MS;
  const end = (year >= 2007 ? nthSunday(year, 10, 1) : lastSunday(year, 9)) + 6 * HOUR_MS;
  return epochMs >= start && epochMs < end ? -4 : -5;
}

/** Midnight UTC of the n-th Sunday of a month (0-based, as Date.UTC). */
function nthSunday(year: number, monthIndex: number, n: number): number {
  const first = Date.UTC(year, monthIndex, 1);
  const weekday = new Date(first).getUTCDay();
  return first + (((7 - weekday) % 7) + 7 * (n - 1)) * DAY_MS;
}

/** Midnight UTC of the last Sunday of a month (0-based). */
function lastSunday(year: number, monthIndex: number): number {
  const last = Date.UTC(year, monthIndex + 1, 0);
  return last - new Date(last).getUTCDay() * DAY_MS;
}

/** Intl's reading, for instants outside the rules' years: created on first use, so ICU stays untouched until then. */
let newYorkParts: Intl.DateTimeFormat | undefined;
const WEEKDAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/**
 * New York hour and weekday per UTC hour. Since 1970 New York's offset is a whole number of hours and
 * changes only on the hour, so one lookup serves a whole UTC hour: a batch may carry a thousand
 * timestamps, and the rules above take three Dates each. Bounded: cleared when full.
 */
const byUtcHour = new Map<number, HourAndDow>();
const BY_UTC_HOUR_LIMIT = 50_000;

/** For an instant (epoch milliseconds): its hour and weekday in America/New_York. The result is shared: do not modify it. */
export function newYorkHourAndDow(epochMs: number): HourAndDow {
  if (!(epochMs >= 0)) return newYorkHourAndDowUncached(epochMs);
  const utcHour = Math.floor(epochMs / HOUR_MS);
  let found = byUtcHour.get(utcHour);
  if (found === undefined) {
    found = newYorkHourAndDowUncached(epochMs);
    if (byUtcHour.size >= BY_UTC_HOUR_LIMIT) byUtcHour.clear();
    byUtcHour.set(utcHour, found);
  }
  return found;
}

function newYorkHourAndDowUncached(epochMs: number): HourAndDow {
  const offset = newYorkOffsetHours(epochMs);
  if (offset !== undefined) {
    const local = new Date(epochMs + offset * HOUR_MS);
    return { hour: local.getUTCHours(), dow: (local.getUTCDay() + 6) % 7 };
  }
  newYorkParts ??= new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', weekday: 'short', hour: '2-digit' });
  let hour = 0;
  let dow = 0;
  for (const part of newYorkParts.formatToParts(epochMs)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'weekday') dow = WEEKDAY_INDEX[part.value];
  }
  return { hour, dow };
}

/** Reads `count` ASCII digits at `at`; -1 when any is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    value = value * 10 + c;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses an ISO 8601 date or date-time: `YYYY-MM-DD`, then optionally `T` (or a space) `hh:mm`,
 * `:ss` and a fraction of 1–9 digits, then optionally `Z` or an offset `±hh:mm` / `±hhmm`.
 * Returns undefined when the text is not one, or names a date that does not exist (2021-02-30, hour 25).
 *
 * why by hand: a batch of 1,000 trips spent a third of its server time in a regex and two Dates per
 * timestamp (docs/performance.md). tests/features/pickup-time.test.ts checks it against that reference.
 */
export function pickupHourAndDow(text: string): HourAndDow | undefined {
  const n = text.length;
  if (n < 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined; // '-'
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  // why year >= 100: Date.UTC reads years 0–99 as 1900–1999, so the reference rejected them.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let i = 10;
  const sep = text.charCodeAt(i);
  if (sep === 84 || sep === 116 || sep === 32) {
    // 'T', 't', ' '
    hour = digitsAt(text, 11, 2);
    minute = digitsAt(text, 14, 2);
    if (n < 16 || text.charCodeAt(13) !== 58 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
    i = 16;
    if (text.charCodeAt(i) === 58) {
      second = digitsAt(text, 17, 2);
      if (n < 19 || second < 0 || second > 59) return undefined;
      i = 19;
      if (text.charCodeAt(i) === 46) {
        // '.', then 1–9 digits
        let end = i + 1;
        while (end < n && end - i <= 9 && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
        if (end === i + 1 || (end < n && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57)) return undefined;
        i = end;
      }
    }
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  if (i === n) return { hour, dow: ((Math.floor(wall / DAY_MS) % 7) + 10) % 7, ms: newYorkWallToEpoch(wall, hour) };
  const offsetMinutes = parseZone(text, i);
  if (offsetMinutes === undefined) return undefined;
  const ms = wall - offsetMinutes * 60_000;
  const { hour: nyHour, dow } = newYorkHourAndDow(ms);
  return { hour: nyHour, dow, ms };
}

/**
 * The instant of a New York wall-clock time (held as UTC ms): 5 hours later in winter, 4 in summer. The
 * one ambiguous hour a year (DST ends) takes the summer reading; a skipped hour maps an hour later.
 */
function newYorkWallToEpoch(wall: number, hour: number): number {
  const summer = wall + 4 * HOUR_MS;
  return newYorkHourAndDow(summer).hour === hour ? summer : wall + 5 * HOUR_MS;
}

/** `Z`, `±hh:mm` or `±hhmm` from `at` to the end of the text: minutes east of UTC. */
function parseZone(text: string, at: number): number | undefined {
  const n = text.length;
  const c = text.charCodeAt(at);
  if (c === 90 || c === 122) return at + 1 === n ? 0 : undefined; // 'Z', 'z'
  if (c !== 43 && c !== 45) return undefined; // '+', '-'
  const colon = text.charCodeAt(at + 3) === 58 ? 1 : 0;
  if (n !== at + 5 + colon) return undefined;
  const hours = digitsAt(text, at + 1, 2);
  const minutes = digitsAt(text, at + 3 + colon, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return undefined;
  return (c === 45 ? -1 : 1) * (hours * 60 + minutes);
}
