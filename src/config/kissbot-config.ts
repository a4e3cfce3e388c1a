import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import type { FLAGS } from "./flags.js";

type FlagKey = keyof typeof FLAGS;

/** KissBot's `monitoring:` keys (its docs/MONITORING.md) and the flag each one sets. */
const MONITORING_KEYS = new Map<string, FlagKey>([
  ["socket_path", "socket"],
  ["stale_timeout", "staleAfterMs"],
  ["metrics_interval", "sampleIntervalMs"],
  ["data_retention_days", "retentionDays"],
]);

export type KissbotDefaults = { values: Partial<Record<FlagKey, string>>; origin: Partial<Record<FlagKey, string>> };

/**
 * Defaults taken from KissBot's config.yaml: its `monitoring:` section, and the KissBot root
 * (the folder holding `config/`, where KissBot's Monitor and bots keep kissbot_monitor.db and
 * logs/) for --db and --channel-log-dir. Throws an Error that names the file and the key.
 */
export function kissbotDefaults(path: string): KissbotDefaults {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  const values: KissbotDefaults["values"] = {};
  const origin: KissbotDefaults["origin"] = {};
  const dir = dirname(resolve(path));
  const root = basename(dir) === "config" ? dirname(dir) : dir;
  values.db = join(root, "kissbot_monitor.db");
  values.channelLogDir = join(root, "logs", "broadcast");
  origin.db = origin.channelLogDir = `${path} (the KissBot root)`;
  const monitoring = (doc as { monitoring?: unknown } | null)?.monitoring;
  if (monitoring === undefined || monitoring === null) return { values, origin };
  if (typeof monitoring !== "object" || Array.isArray(monitoring)) throw new Error(`${path}: monitoring must be a mapping`);
  for (const [key, flag] of MONITORING_KEYS) {
    const v = Object.hasOwn(monitoring, key) ? (monitoring as Record<string, unknown>)[key] : undefined;
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" && typeof v !== "number") throw new Error(`${path}: monitoring.${key} must be a number or a string`);
    values[flag] = String(v);
    origin[flag] = `${path} monitoring.${key}`;
  }
  return { values, origin };
}
