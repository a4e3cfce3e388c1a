/**
 * When the current day and month started, in a time zone (an IANA name such as
 * "Europe/Paris"): spend is counted by the operator's calendar, not by UTC's.
 */
export function periodStarts(nowMs: number, timeZone: string): { dayStartMs: number; monthStartMs: number; nextDayStartMs: number; nextMonthStartMs: number } {
  const { year, month, day } = localDate(nowMs, timeZone);
  return {
    dayStartMs: localMidnight(year, month, day, timeZone),
    monthStartMs: localMidnight(year, month, 1, timeZone),
    // Day + 1 may be the 32nd: Date.UTC rolls it over into the next month.
    nextDayStartMs: localMidnight(year, month, day + 1, timeZone),
    nextMonthStartMs: localMidnight(year, month + 1, 1, timeZone),
  };
}

/**
 * The zone's canonical name (`europe/PARIS` → `Europe/Paris`, `US/Eastern` → `America/New_York`),
 * or a RangeError naming the zone when this Node does not know it.
 */
export function checkTimeZone(timeZone: string): string {
  return zoneFormats(timeZone).zone;
}

type ZoneFormats = { zone: string; parts: Intl.DateTimeFormat; day: Intl.DateTimeFormat };

/**
 * Formatters by zone name as written, lower-cased, each built once. A formatter holds ICU memory
 * that V8's collector does not see, so one built per request grew the bridge by hundreds of MB
 * under polling (issue 25). Case variants share an entry, and only names Intl accepts are kept:
 * with about 600 zone names and aliases there are, the map stays small; it is bounded anyway.
 */
const zones = new Map<string, ZoneFormats>();
const MAX_ZONE_NAMES = 2048;

function zoneFormats(timeZone: string): ZoneFormats {
  const key = timeZone.toLowerCase();
  let z = zones.get(key);
  if (z === undefined) {
    const zone = new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
    const canonical = zones.get(zone.toLowerCase());
    z = canonical ?? {
      zone,
      parts: new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" }),
      // en-CA formats dates as YYYY-MM-DD.
      day: new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }),
    };
    if (zones.size >= MAX_ZONE_NAMES) zones.clear();
    zones.set(key, z);
    zones.set(zone.toLowerCase(), z);
  }
  return z;
}

/** The calendar day (YYYY-MM-DD) of an instant in the zone. */
export function localDay(ms: number, timeZone: string): string {
  return zoneFormats(timeZone).day.format(ms);
}

type Parts = { year: number; month: number; day: number; hour: number; minute: number; second: number };

function parts(ms: number, timeZone: string): Parts {
  const out: Parts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of zoneFormats(timeZone).parts.formatToParts(ms)) {
    if (p.type === "year" || p.type === "month" || p.type === "day" || p.type === "hour" || p.type === "minute" || p.type === "second") out[p.type] = Number(p.value);
  }
  return out;
}

function localDate(ms: number, timeZone: string): { year: number; month: number; day: number } {
  const p = parts(ms, timeZone);
  return { year: p.year, month: p.month, day: p.day };
}

/** The zone's offset from UTC at an instant, in milliseconds (local = UTC + offset). */
function offsetAt(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant local midnight of that date happens in the zone (twice corrected, for DST changes). */
function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return guess;
}

/** The instant a local wall-clock time happens on the calendar day that starts at `dayStartMs` (DST-corrected). */
export function wallClock(dayStartMs: number, hour: number, minute: number, timeZone: string): number {
  const { year, month, day } = localDate(dayStartMs, timeZone);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return guess;
}

/** Day of the week (0 Sunday … 6 Saturday) of an instant in the zone. */
export function localWeekday(ms: number, timeZone: string): number {
  const { year, month, day } = localDate(ms, timeZone);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}
