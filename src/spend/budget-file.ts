import { isMap, isScalar, type Node, type YAMLMap } from "yaml";
import { readYamlFile, type At } from "../util/yaml-file.js";
import { ReloadableFile } from "../util/reloadable-file.js";

/** USD limits of a period; null: none for that period. */
export interface Limits {
  daily: number | null;
  monthly: number | null;
}

export interface ChannelBudget extends Limits {
  /** Limits of one feature of the channel (its calls only). */
  features: Map<string, Limits>;
}

/** A budget file, checked: `default` applies to every channel without its own entry. */
export interface BudgetTable {
  path: string;
  default: Limits;
  channels: Map<string, ChannelBudget>;
}

/** The limits that apply to a channel: its own, else the default. */
export function channelLimits(t: BudgetTable, channel: string): Limits {
  const own = t.channels.get(channel);
  return own === undefined ? t.default : { daily: own.daily ?? t.default.daily, monthly: own.monthly ?? t.default.monthly };
}

const MAX_USD = 1e9;
const PERIOD_KEYS = ["daily_usd", "monthly_usd"] as const;

class BudgetError extends Error {}

/**
 * Reads and checks a budget file (YAML):
 *
 *     default: { daily_usd: 2, monthly_usd: 40 }
 *     channels:
 *       el_serda:
 *         daily_usd: 5
 *         features:
 *           ask: { daily_usd: 3 }
 *
 * Throws an Error naming the file, the line and what is wrong.
 */
export function loadBudgetFile(path: string): BudgetTable {
  const { doc, at } = readYamlFile(path);
  try {
    const root = doc.contents;
    if (root === null) return { path, default: { daily: null, monthly: null }, channels: new Map() };
    const top = mapping(root, "the file", at);
    const table: BudgetTable = { path, default: { daily: null, monthly: null }, channels: new Map() };
    for (const pair of top.items) {
      const key = keyOf(pair.key, at);
      if (key === "default") table.default = limits(pair.value as Node, "default", at, []);
      else if (key === "channels") {
        if (pair.value === null) continue;
        for (const c of mapping(pair.value as Node, "channels", at).items) {
          const channel = keyOf(c.key, at);
          if (!/^[A-Za-z0-9_]{1,64}$/.test(channel)) throw new BudgetError(`${at(c.key as Node)}: channel ${JSON.stringify(channel)} is not a channel name (letters, digits and _)`);
          const features = new Map<string, Limits>();
          const l = limits(c.value as Node, `channels.${channel}`, at, ["features"]);
          const cm = mapping(c.value as Node, `channels.${channel}`, at);
          const f = cm.items.find((p) => keyOf(p.key, at) === "features");
          if (f !== undefined && f.value !== null) {
            for (const fp of mapping(f.value as Node, `channels.${channel}.features`, at).items) {
              const feature = keyOf(fp.key, at);
              features.set(feature, limits(fp.value as Node, `channels.${channel}.features.${feature}`, at, []));
            }
          }
          table.channels.set(channel, { ...l, features });
        }
      } else throw new BudgetError(`${at(pair.key as Node)}: unknown key ${JSON.stringify(key)} (expected default or channels)`);
    }
    return table;
  } catch (err) {
    if (err instanceof BudgetError) throw new Error(err.message);
    throw err;
  }
}

function mapping(node: Node, what: string, at: At): YAMLMap {
  if (!isMap(node)) throw new BudgetError(`${at(node)}: ${what} must be a mapping`);
  return node;
}

function keyOf(key: unknown, at: At): string {
  if (!isScalar(key) || typeof key.value !== "string") throw new BudgetError(`${at(key as Node)}: keys must be names`);
  return key.value;
}

function limits(node: Node, what: string, at: At, allowed: readonly string[]): Limits {
  const m = mapping(node, what, at);
  const out: Limits = { daily: null, monthly: null };
  for (const p of m.items) {
    const key = keyOf(p.key, at);
    if (allowed.includes(key)) continue;
    if (!(PERIOD_KEYS as readonly string[]).includes(key)) throw new BudgetError(`${at(p.key as Node)}: unknown key ${JSON.stringify(key)} in ${what} (expected ${[...PERIOD_KEYS, ...allowed].join(", ")})`);
    const v = isScalar(p.value) ? p.value.value : undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_USD) {
      throw new BudgetError(`${at((p.value ?? p.key) as Node)}: ${what}.${key} must be a number of US dollars from 0 to 1e9, not ${JSON.stringify(isScalar(p.value) ? p.value.source ?? p.value.value : p.value?.toString())}`);
    }
    if (key === "daily_usd") out.daily = v;
    else out.monthly = v;
  }
  return out;
}

/** The budgets in use, replaced whole on SIGHUP; a file that fails to load leaves them as they were. */
export class ReloadableBudgets extends ReloadableFile<BudgetTable> {
  constructor(table: BudgetTable) {
    super(table, loadBudgetFile);
  }
}
