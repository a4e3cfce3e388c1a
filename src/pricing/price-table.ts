import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { LlmUsageMessage } from "../protocol/messages.js";
import { systemClock, type Clock } from "../util/clock.js";
import { findInLibrary, libraryCost, libraryPerMillion, LIBRARY_VERSION, type LibraryMatch } from "./library-prices.js";

/** Whether a call's cost came from the bot or from the bridge's price table. */
export const COST_SOURCES = ["reported", "computed"] as const;
export type CostSource = (typeof COST_SOURCES)[number];

/** An llm_usage call with its cost settled: reported, computed, or (null) unknown. */
export interface PricedLlmUsage extends LlmUsageMessage {
  costUsd: number | null;
  costSource: CostSource | null;
}

export interface ModelPrice {
  /** US dollars per 1,000,000 input tokens. */
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
}

/** A price and the moment it took effect (-Infinity: for all time, the old one-price form). */
export interface DatedPrice extends ModelPrice {
  fromMs: number;
}

/** Where a price came from: --prices FILE, the table shipped with the bridge, or the price library. */
export type PriceSource = "file" | "shipped" | "library";

/** A model of the table: its name, an optional pattern other names match, its prices oldest first. */
export interface ModelEntry {
  name: string;
  source: "file" | "shipped";
  /** As written in the file (Langfuse's form: `(?i)^(openai/)?(gpt-4o)$`). */
  match: string | undefined;
  pattern: RegExp | undefined;
  prices: DatedPrice[];
}

/** How a model name found its entry: `kissbot-bridge prices --match` says which. */
export type MatchKind = "exact" | "pattern" | "prefix";

/** A `local:` rule of a price file: a model name (any case) or a pattern, run locally, so free. */
export interface LocalRule {
  source: "file" | "shipped";
  text: string;
  test(model: string): boolean;
}

/** What prices a model name: an entry of a table, a local declaration, or the library. */
export type Resolved =
  | { kind: "entry"; entry: ModelEntry; how: MatchKind }
  | { kind: "local"; rule: LocalRule }
  | { kind: "library"; match: LibraryMatch };

const FREE: ModelPrice = { inputUsdPerMillion: 0, outputUsdPerMillion: 0 };

/** The table shipped with the package (prices/llm-prices.yaml at its root). */
export const SHIPPED_PRICES = new URL("../../../prices/llm-prices.yaml", import.meta.url);

const BOUNDARY = /^[-:@]/;

/** Model names remembered with their entry at most (they are bounded by the usage book before here). */
const MAX_RESOLVED = 10_000;

/**
 * Prices calls that did not report a cost, with the price in force at the call's time. Sources in
 * order: --prices FILE, then the shipped table, then the price library (library-prices.ts). In
 * each table a model name finds its entry exactly, else by the patterns of the entries (the
 * longest entry name among those that match), else by the longest entry name it starts with
 * followed by "-", ":" or "@" (dated snapshots such as gpt-4o-2024-08-06), else by the table's
 * `local:` rules (free, and never asked of the library). What a name finds is remembered.
 */
export class PriceTable {
  private readonly resolved = new Map<string, Resolved | null>();

  constructor(
    /** The file's entries, then the shipped ones it does not replace. */
    private readonly tables: ReadonlyArray<{ source: "file" | "shipped"; version: string; entries: ReadonlyMap<string, ModelEntry>; locals: readonly LocalRule[] }>,
    readonly updated: string,
    /** Asked last, for a name no table knows: the price library (library-prices.ts). */
    private readonly library: (model: string) => LibraryMatch | null = findInLibrary,
  ) {}

  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t.entries.size;
    return n;
  }

  all(): IterableIterator<ModelEntry> {
    return this.tables.flatMap((t) => [...t.entries.values()])[Symbol.iterator]();
  }

  /** The `local:` rules, the file's first. */
  locals(): LocalRule[] {
    return this.tables.flatMap((t) => [...t.locals]);
  }

  /** What prices a model name, and how it was found; undefined: nothing does. */
  resolve(model: string): Resolved | undefined {
    let found = this.resolved.get(model);
    if (found === undefined) {
      found = this.search(model);
      if (this.resolved.size < MAX_RESOLVED) this.resolved.set(model, found);
    }
    return found ?? undefined;
  }

  /** The table entry a model name is priced by, and how it was found (not a local rule nor the library). */
  find(model: string): { entry: ModelEntry; how: MatchKind } | undefined {
    const r = this.resolve(model);
    return r?.kind === "entry" ? r : undefined;
  }

  /** The price of `model` in force at `atMs` (now by default), per 1M tokens. */
  lookup(model: string, atMs = Date.now()): ModelPrice | undefined {
    const r = this.resolve(model);
    return r === undefined ? undefined : perMillion(r, atMs);
  }

  /** A call's cost: reported, else computed with the price in force at `atMs` (the call's time), else unknown. */
  price(msg: LlmUsageMessage, atMs = Date.now()): PricedLlmUsage {
    if (msg.estimatedCostUsd !== null) return priced(msg, msg.estimatedCostUsd, "reported");
    // Resolved once per call (every stock-client message comes through here).
    const r = this.resolve(msg.model);
    if (r === undefined) return priced(msg, null, null);
    if (r.kind === "library") {
      const cost = libraryCost(r.match, msg.tokensIn, msg.tokensOut, atMs);
      return cost === null ? priced(msg, null, null) : priced(msg, cost, "computed");
    }
    const p = perMillion(r, atMs);
    if (p === undefined) return priced(msg, null, null);
    return priced(msg, (msg.tokensIn * p.inputUsdPerMillion + msg.tokensOut * p.outputUsdPerMillion) / 1_000_000, "computed");
  }

  /** The sources loaded and their versions (a file's `updated:`, the library's package version), for kissbot_llm_price_info. */
  sources(): Array<{ source: PriceSource; version: string }> {
    return [...this.tables.map((t) => ({ source: t.source, version: t.version })), { source: "library" as const, version: LIBRARY_VERSION }];
  }

  private search(model: string): Resolved | null {
    for (const t of this.tables) {
      const hit = searchEntries(t.entries, model);
      if (hit !== null) return { kind: "entry", ...hit };
      const rule = t.locals.find((l) => l.test(model));
      if (rule !== undefined) return { kind: "local", rule };
    }
    const match = this.library(model);
    return match === null ? null : { kind: "library", match };
  }
}

/** A resolved name's price per 1M tokens in force at `atMs`; undefined before an entry's first price. */
function perMillion(r: Resolved, atMs: number): ModelPrice | undefined {
  if (r.kind === "local") return FREE;
  if (r.kind === "library") return libraryPerMillion(r.match, atMs) ?? undefined;
  let price: DatedPrice | undefined;
  for (const p of r.entry.prices) if (p.fromMs <= atMs) price = p;
  return price;
}

function searchEntries(entries: ReadonlyMap<string, ModelEntry>, model: string): { entry: ModelEntry; how: MatchKind } | null {
  const exact = entries.get(model);
  if (exact !== undefined) return { entry: exact, how: "exact" };
  let best: ModelEntry | undefined;
  for (const e of entries.values()) if (e.pattern?.test(model) === true && (best === undefined || e.name.length > best.name.length)) best = e;
  if (best !== undefined) return { entry: best, how: "pattern" };
  for (const e of entries.values()) {
    if ((best === undefined || e.name.length > best.name.length) && model.startsWith(e.name) && BOUNDARY.test(model.slice(e.name.length))) best = e;
  }
  return best === undefined ? null : { entry: best, how: "prefix" };
}

/**
 * Written out field by field: an object spread here cost more than the rest of a message's
 * handling (measured: 1.6 µs a call), and every stock-client message pays it.
 */
function priced(m: LlmUsageMessage, costUsd: number | null, costSource: PricedLlmUsage["costSource"]): PricedLlmUsage {
  return {
    type: m.type,
    channel: m.channel,
    model: m.model,
    feature: m.feature,
    tokensIn: m.tokensIn,
    tokensOut: m.tokensOut,
    latencyMs: m.latencyMs,
    estimatedCostUsd: m.estimatedCostUsd,
    operation: m.operation,
    costUsd,
    costSource,
  };
}

type PriceFile = { updated: string; models: Map<string, ModelEntry>; locals: LocalRule[] };

const isPrice = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1e6;

/** A pattern as Langfuse writes them: JavaScript's syntax, with a leading `(?i)` for case-insensitive. */
function compilePattern(where: string, name: string, text: unknown): RegExp | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== "string" || text === "") throw new Error(`${where}: model ${JSON.stringify(name)}: match must be a regular expression`);
  const insensitive = text.startsWith("(?i)");
  try {
    return new RegExp(insensitive ? text.slice(4) : text, insensitive ? "i" : "");
  } catch (err) {
    throw new Error(`${where}: model ${JSON.stringify(name)}: match is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** A `from:` date (2026-12-15, midnight UTC) or instant (2026-12-15T12:00:00Z). */
function fromMs(where: string, name: string, v: unknown): number {
  const text = v instanceof Date ? v.toISOString() : typeof v === "string" ? v : "";
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new Error(`${where}: model ${JSON.stringify(name)}: each price needs from: a date (2026-12-15, midnight UTC) or a time (2026-12-15T12:00:00Z)`);
  return ms;
}

/**
 * One model's entry: `{ input, output }` (one price for all time, the table's first form), or
 * `{ match?, prices: [{ from, input, output }, …] }`, or both: a `match` with one price.
 */
function readEntry(where: string, name: string, entry: unknown, source: ModelEntry["source"]): ModelEntry {
  const e = entry as { input?: unknown; output?: unknown; match?: unknown; prices?: unknown } | null;
  if (typeof e !== "object" || e === null) throw new Error(`${where}: model ${JSON.stringify(name)} needs input and output prices in USD per 1M tokens, or a list of prices with from: dates`);
  const pattern = compilePattern(where, name, e.match);
  const prices: DatedPrice[] = [];
  if (e.prices === undefined) {
    if (!isPrice(e.input) || !isPrice(e.output)) throw new Error(`${where}: model ${JSON.stringify(name)} needs input and output prices in USD per 1M tokens (numbers from 0 to 1000000)`);
    prices.push({ fromMs: -Infinity, inputUsdPerMillion: e.input as number, outputUsdPerMillion: e.output as number });
  } else {
    if (!Array.isArray(e.prices) || e.prices.length === 0 || e.input !== undefined || e.output !== undefined) throw new Error(`${where}: model ${JSON.stringify(name)}: prices is a list of { from, input, output }, and replaces input and output`);
    for (const p of e.prices as { from?: unknown; input?: unknown; output?: unknown }[]) {
      if (!isPrice(p?.input) || !isPrice(p?.output)) throw new Error(`${where}: model ${JSON.stringify(name)}: every price needs input and output in USD per 1M tokens (numbers from 0 to 1000000)`);
      prices.push({ fromMs: fromMs(where, name, p.from), inputUsdPerMillion: p.input as number, outputUsdPerMillion: p.output as number });
    }
    prices.sort((a, b) => a.fromMs - b.fromMs);
  }
  return { name, source, match: typeof e.match === "string" ? e.match : undefined, pattern, prices };
}

/**
 * `local:` rules: a model name (matched in any case) or a pattern (written with a leading ^ or
 * (?i), Langfuse's form), for models the owner runs on their own hardware: free by declaration.
 */
function readLocals(where: string, v: unknown, source: LocalRule["source"]): LocalRule[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "")) throw new Error(`${where}: local: must be a list of model names or patterns (^… or (?i)…)`);
  return (v as string[]).map((text) => {
    if (text.startsWith("^") || text.startsWith("(?i)")) {
      const re = compilePattern(where, `local ${text}`, text)!;
      return { source, text, test: (m: string) => re.test(m) };
    }
    const lower = text.toLowerCase();
    return { source, text, test: (m: string) => m.toLowerCase() === lower };
  });
}

/** Reads a price file; throws an Error naming the file and the entry at fault. */
export function readPriceFile(path: string | URL, source: ModelEntry["source"] = "file"): PriceFile {
  const where = typeof path === "string" ? path : path.pathname;
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the price table ${where}: ${(err as Error).message.split("\n")[0]}`);
  }
  const models = (doc as { models?: unknown } | null)?.models;
  const locals = readLocals(where, (doc as { local?: unknown } | null)?.local, source);
  if (models === undefined && locals.length > 0) return { updated: String((doc as { updated?: unknown }).updated ?? ""), models: new Map(), locals };
  if (typeof models !== "object" || models === null || Array.isArray(models)) throw new Error(`${where}: expected a "models:" mapping of model name to { input, output } (or a local: list)`);
  const out = new Map<string, ModelEntry>();
  for (const [name, entry] of Object.entries(models as Record<string, unknown>)) out.set(name, readEntry(where, name, entry, source));
  const updated = (doc as { updated?: unknown }).updated;
  return { updated: typeof updated === "string" ? updated : "", models: out, locals };
}

/**
 * The price sources in order: the entries and local rules of `overridePath` (if any), then the
 * shipped table's (those the file does not replace by name), then the library.
 */
export function loadPriceTable(overridePath: string | null): PriceTable {
  const shipped = readPriceFile(SHIPPED_PRICES, "shipped");
  const override = overridePath === null ? undefined : readPriceFile(overridePath, "file");
  const kept = new Map([...shipped.models].filter(([name]) => override?.models.has(name) !== true));
  const tables = [...(override === undefined ? [] : [{ source: "file" as const, version: override.updated, entries: override.models, locals: override.locals }]), { source: "shipped" as const, version: shipped.updated, entries: kept, locals: shipped.locals }];
  return new PriceTable(tables, override?.updated || shipped.updated);
}

/** The price table in use, replaced whole on SIGHUP; a file that fails to load leaves it as it was. */
export class ReloadablePrices {
  constructor(
    private table: PriceTable,
    private readonly overridePath: string | null,
    /** What "now" is for a call priced as it arrives. */
    private readonly clock: Clock = systemClock,
  ) {}

  get current(): PriceTable {
    return this.table;
  }

  price(msg: LlmUsageMessage, atMs?: number): PricedLlmUsage {
    return this.table.price(msg, atMs ?? this.clock.now());
  }

  /** Throws (keeping the table in use) when the file cannot be read or is invalid. */
  reload(): PriceTable {
    this.table = loadPriceTable(this.overridePath);
    return this.table;
  }
}
