import { loadBudgetFile, type BudgetTable } from "../spend/budget-file.js";
import { checkTimeZone } from "../calendar/period.js";
import { loadWebConfig, type WebConfig } from "../http/web-config.js";
import { loadNotifyConfig, type NotifyConfig } from "../notify/notify-config.js";
/** Value parsers for flags: each returns the value or throws an Error whose message completes "invalid --flag: ...". */

export function seconds(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new Error(`expected seconds between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    }
    return n * 1000;
  };
}

export function integer(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
      throw new Error(`expected a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
}

export function fileMode(raw: string): number {
  if (!/^0?[0-7]{3}$/.test(raw)) throw new Error(`expected an octal file mode such as 660, got ${JSON.stringify(raw)}`);
  return parseInt(raw, 8);
}

export function hostPort(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new Error(`expected HOST:PORT such as 127.0.0.1:9877, got ${JSON.stringify(raw)}`);
  return { host: m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]!), port };
}

export function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`expected one of ${values.join(", ")}, got ${JSON.stringify(raw)}`);
    return raw as T;
  };
}

export function nonEmpty(raw: string): string {
  if (raw === "") throw new Error("must not be empty");
  return raw;
}

/** For boolean flags: given on the command line they are "true"; in the environment, any of these. */
export function bool(raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off|)$/i.test(raw)) return false;
  throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
}

/** `prefix=provider,prefix=provider`, e.g. `llama=meta,qwen=alibaba`. */
export function prefixPairs(raw: string): [string, string][] {
  if (raw.trim() === "") return [];
  return raw.split(",").map((pair) => {
    const m = /^\s*([^=\s]+)\s*=\s*([a-z0-9_.]+)\s*$/.exec(pair);
    if (m === null) throw new Error(`expected MODEL_PREFIX=provider pairs separated by commas, got ${JSON.stringify(pair)}`);
    return [m[1]!, m[2]!] as [string, string];
  });
}

/** A whole number, or empty for "none". */
export function optionalInteger(min: number, max: number) {
  const parse = integer(min, max);
  return (raw: string): number | null => (raw.trim() === "" ? null : parse(raw));
}

/** A file path, or empty for "none". */
export function optionalPath(raw: string): string | null {
  return raw.trim() === "" ? null : raw;
}

/** An IANA time zone name this Node knows. */
export function timeZone(raw: string): string {
  try {
    return checkTimeZone(raw.trim());
  } catch {
    throw new Error(`expected an IANA time zone such as UTC or Europe/Paris, got ${JSON.stringify(raw)}`);
  }
}

/** A budget file, read and checked now: a bad one stops the bridge at start with its line. */
export function budgetFile(raw: string): BudgetTable | null {
  return raw.trim() === "" ? null : loadBudgetFile(raw.trim());
}

/** --notify-config: the routing file, read and checked now, so that a bad one fails the start. */
export function notifyConfigFile(raw: string): NotifyConfig | null {
  return raw.trim() === "" ? null : loadNotifyConfig(raw.trim());
}

/** Comma-separated host names (`*` for any): the names HTTP answers besides IP addresses and localhost. */
export function hostList(raw: string): string[] {
  const names = raw.split(",").map((n) => n.trim().toLowerCase()).filter((n) => n !== "");
  for (const n of names) if (n !== "*" && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(n)) throw new Error(`expected host names such as bots.example.org, got ${JSON.stringify(n)}`);
  return names;
}

const UNIT_MS = new Map([["ms", 1], ["s", 1000], ["m", 60_000], ["h", 3_600_000], ["d", 86_400_000]]);

/** A duration: `90` or `90s`, `10m`, `4h`, `1d` (a bare number is seconds); in ms. */
export function duration(minMs: number, maxMs: number) {
  return (raw: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
    const ms = m === null ? NaN : Number(m[1]) * UNIT_MS.get(m[2] ?? "s")!;
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
      throw new Error(`expected a duration (90, 90s, 10m, 4h, 1d) between ${minMs / 1000} s and ${maxMs / 1000} s, got ${JSON.stringify(raw)}`);
    }
    return ms;
  };
}

/** An http(s) URL without a trailing slash, or "" for none. */
export function optionalUrl(raw: string): string {
  if (raw.trim() === "") return "";
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new Error(`expected an http or https URL, got ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`expected an http or https URL, got ${JSON.stringify(raw)}`);
  return u.href.replace(/\/+$/, "");
}

/** A web configuration file (exporter-toolkit format), read and checked; "" for none. */
export function webConfigFile(raw: string): WebConfig | null {
  return raw.trim() === "" ? null : loadWebConfig(raw.trim());
}

/** A ratio strictly between 0 and 1 (an availability objective such as 0.99 or 99.5%). */
export function ratio(raw: string): number {
  const t = raw.trim();
  const n = t.endsWith("%") ? Number(t.slice(0, -1)) / 100 : Number(t);
  if (t === "" || !Number.isFinite(n) || n <= 0 || n >= 1) throw new Error(`expected a ratio between 0 and 1 such as 0.99 (or 99%), got ${JSON.stringify(raw)}`);
  return n;
}

/** A local time of day, HH:MM (24 h): minutes after midnight. */
export function timeOfDay(raw: string): { hour: number; minute: number } {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(raw.trim());
  if (m === null) throw new Error(`expected a time of day HH:MM such as 09:00, got ${JSON.stringify(raw)}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}
