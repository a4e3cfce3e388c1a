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

/** Throws a RangeError naming the zone when it is not a time zone this Node knows. */
export function checkTimeZone(timeZone: string): string {
  new Intl.DateTimeFormat("en-US", { timeZone }).format(0);
  return timeZone;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, timeZone: string): Record<string, number> {
  let f = formats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formats.set(timeZone, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(ms)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

function localDate(ms: number, timeZone: string): { year: number; month: number; day: number } {
  const p = parts(ms, timeZone);
  return { year: p["year"]!, month: p["month"]!, day: p["day"]! };
}

/** The zone's offset from UTC at an instant, in milliseconds (local = UTC + offset). */
function offsetAt(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  const asUtc = Date.UTC(p["year"]!, p["month"]! - 1, p["day"]!, p["hour"]!, p["minute"]!, p["second"]!);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant local midnight of that date happens in the zone (twice corrected, for DST changes). */
function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return guess;
}
