import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { LlmUsageMessage } from "../protocol/messages.js";

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

/** The table shipped with the package (prices/llm-prices.yaml at its root). */
export const SHIPPED_PRICES = new URL("../../../prices/llm-prices.yaml", import.meta.url);

const BOUNDARY = /^[-:@]/;

/**
 * Prices calls that did not report a cost. Lookups are exact, then by the longest entry that
 * the model name starts with followed by "-", ":" or "@" (dated snapshots such as
 * gpt-4o-2024-08-06), and are remembered per model name.
 */
export class PriceTable {
  private readonly resolved = new Map<string, ModelPrice | null>();

  constructor(
    private readonly prices: ReadonlyMap<string, ModelPrice>,
    readonly updated: string,
  ) {}

  get size(): number {
    return this.prices.size;
  }

  lookup(model: string): ModelPrice | undefined {
    let found = this.resolved.get(model);
    if (found === undefined) {
      found = this.prices.get(model) ?? null;
      if (found === null) {
        let best = "";
        for (const [name, price] of this.prices) {
          if (name.length > best.length && model.startsWith(name) && BOUNDARY.test(model.slice(name.length))) {
            best = name;
            found = price;
          }
        }
      }
      // Model names are bounded by the usage book's label limit before they reach here.
      if (this.resolved.size < 10_000) this.resolved.set(model, found);
    }
    return found ?? undefined;
  }

  price(msg: LlmUsageMessage): PricedLlmUsage {
    if (msg.estimatedCostUsd !== null) return priced(msg, msg.estimatedCostUsd, "reported");
    const p = this.lookup(msg.model);
    if (p === undefined) return priced(msg, null, null);
    return priced(msg, (msg.tokensIn * p.inputUsdPerMillion + msg.tokensOut * p.outputUsdPerMillion) / 1_000_000, "computed");
  }
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

type PriceFile = { updated: string; models: Map<string, ModelPrice> };

/** Reads a price file; throws an Error naming the file and the entry at fault. */
export function readPriceFile(path: string | URL): PriceFile {
  const where = typeof path === "string" ? path : path.pathname;
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the price table ${where}: ${(err as Error).message.split("\n")[0]}`);
  }
  const models = (doc as { models?: unknown } | null)?.models;
  if (typeof models !== "object" || models === null || Array.isArray(models)) throw new Error(`${where}: expected a "models:" mapping of model name to { input, output }`);
  const out = new Map<string, ModelPrice>();
  for (const [name, entry] of Object.entries(models as Record<string, unknown>)) {
    const e = entry as { input?: unknown; output?: unknown } | null;
    const ok = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1e6;
    if (!ok(e?.input) || !ok(e?.output)) throw new Error(`${where}: model ${JSON.stringify(name)} needs input and output prices in USD per 1M tokens (numbers from 0 to 1000000)`);
    out.set(name, { inputUsdPerMillion: e!.input as number, outputUsdPerMillion: e!.output as number });
  }
  const updated = (doc as { updated?: unknown }).updated;
  return { updated: typeof updated === "string" ? updated : "", models: out };
}

/** The shipped table, with the entries of `overridePath` (if any) replacing or adding models. */
export function loadPriceTable(overridePath: string | null): PriceTable {
  const shipped = readPriceFile(SHIPPED_PRICES);
  if (overridePath === null) return new PriceTable(shipped.models, shipped.updated);
  const override = readPriceFile(overridePath);
  return new PriceTable(new Map([...shipped.models, ...override.models]), override.updated || shipped.updated);
}

/** The price table in use, replaced whole on SIGHUP; a file that fails to load leaves it as it was. */
export class ReloadablePrices {
  constructor(
    private table: PriceTable,
    private readonly overridePath: string | null,
  ) {}

  get current(): PriceTable {
    return this.table;
  }

  price(msg: LlmUsageMessage): PricedLlmUsage {
    return this.table.price(msg);
  }

  /** Throws (keeping the table in use) when the file cannot be read or is invalid. */
  reload(): PriceTable {
    this.table = loadPriceTable(this.overridePath);
    return this.table;
  }
}
