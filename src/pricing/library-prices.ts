import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type * as GenAiPrices from "@pydantic/genai-prices";

/** USD per 1,000,000 tokens (price-table.ts's ModelPrice, which imports this file). */
interface ModelPrice {
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
}

/** The price library the bridge ships with, pinned in package.json; nothing is fetched at run time. */
export const LIBRARY_NAME = "@pydantic/genai-prices";

/**
 * The library, loaded (its CommonJS build, synchronously) at the first name it is asked: loading
 * it costs about 70 ms of CPU, which every start paid, though most calls are priced by the bot
 * or the shipped table.
 */
let loaded: typeof GenAiPrices | undefined;
const library = () => (loaded ??= createRequire(import.meta.url)(LIBRARY_NAME) as typeof GenAiPrices);

/** Its version, read from its own package.json (its exports hide it from import). */
export const LIBRARY_VERSION: string = (() => {
  try {
    const main = new URL(import.meta.resolve(LIBRARY_NAME));
    return (JSON.parse(readFileSync(new URL("../package.json", main), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
})();

/** A model name the library prices: which provider and model, and how its price is computed. */
export interface LibraryMatch {
  providerId: string;
  /** The library's model id (claude-sonnet-4-0 for claude-sonnet-4-20250514). */
  modelId: string;
  /** The name asked of the library: the model name, without a provider prefix it went to. */
  asked: string;
  /** The provider with this model alone: pricing a call then searches nothing. */
  provider: GenAiPrices.Provider;
  /** Prices tiered by tokens or by time of day: each call is priced by the library itself. */
  complex: boolean;
}

/** Providers the library knows by id: a name's prefix (openai/, x-ai/) names one of them. */
const isProvider = (id: string) => library().findProvider({ providerId: id })?.id === id;

/** calcPrice, for names from bots: whatever the library throws, the name is unpriced, never a crash. */
function calc(...args: Parameters<typeof GenAiPrices.calcPrice>): ReturnType<typeof GenAiPrices.calcPrice> {
  try {
    return library().calcPrice(...args);
  } catch {
    return null;
  }
}

function tryLibrary(asked: string, providerId: string | undefined): LibraryMatch | null {
  const r = calc({ input_tokens: 0, output_tokens: 0 }, asked, providerId === undefined ? {} : { providerId });
  if (r === null) return null;
  const model: GenAiPrices.ModelInfo = r.model;
  const conditions = Array.isArray(model.prices) ? model.prices : [{ prices: model.prices }];
  // Priced by the image or the request, not the token: not a price for an llm_usage call.
  if (!conditions.some((c) => c.prices["input_mtok"] !== undefined || c.prices["output_mtok"] !== undefined)) return null;
  const complex = conditions.some((c) => ("constraint" in c && c.constraint?.type === "time_of_date") || Object.values(c.prices).some((v) => typeof v === "object"));
  return { providerId: r.provider.id, modelId: model.id, asked, provider: { ...r.provider, models: [model], fallback_model_providers: [] }, complex };
}

/**
 * What the library makes of a model name as bots send it: `openrouter/…` through OpenRouter's
 * prices; `PROVIDER/MODEL` with a provider it knows through that provider, else as an
 * OpenRouter id (meta-llama/…); a bare name by the provider it guesses from the name (claude-…,
 * gpt-…). A local model must have been set aside before: asked through OpenRouter, the library
 * prices mistral-7b-instruct as a cloud model.
 */
export function findInLibrary(model: string): LibraryMatch | null {
  const name = model.trim().toLowerCase();
  const slash = name.indexOf("/");
  if (slash <= 0) return tryLibrary(name, undefined);
  const prefix = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (prefix === "openrouter") return tryLibrary(rest, "openrouter");
  if (isProvider(prefix)) return tryLibrary(rest, prefix) ?? tryLibrary(name, "openrouter");
  return tryLibrary(name, "openrouter");
}

const DAY_MS = 86_400_000;

/** Prices in force on a UTC day, per model: the library's start dates are days. */
const byDay = new Map<string, ModelPrice | null>();
const MAX_DAYS = 10_000;

/** USD per 1M input and output tokens in force on `atMs`'s day (a tiered price: its first tier; by time of day: at noon UTC). */
export function libraryPerMillion(m: LibraryMatch, atMs: number): ModelPrice | null {
  const day = Math.floor(atMs / DAY_MS);
  const key = `${m.providerId}\u0000${m.modelId}\u0000${day}`;
  let p = byDay.get(key);
  if (p === undefined) {
    // A call of 1,000 tokens each way: a tiered price shows its first tier, as most calls pay.
    const r = calc({ input_tokens: 1000, output_tokens: 1000 }, m.asked, { provider: m.provider, timestamp: new Date(day * DAY_MS + DAY_MS / 2) });
    const perMillion = (usd: number) => Math.round(usd * 1000 * 1e9) / 1e9;
    p = r === null ? null : { inputUsdPerMillion: perMillion(r.input_price), outputUsdPerMillion: perMillion(r.output_price) };
    if (byDay.size >= MAX_DAYS) byDay.clear();
    byDay.set(key, p);
  }
  return p;
}

/** A call's cost by the library: per-million prices for plain models, the library's own sum for tiered ones. */
export function libraryCost(m: LibraryMatch, tokensIn: number, tokensOut: number, atMs: number): number | null {
  if (m.complex) return calc({ input_tokens: tokensIn, output_tokens: tokensOut }, m.asked, { provider: m.provider, timestamp: new Date(atMs) })?.total_price ?? null;
  const p = libraryPerMillion(m, atMs);
  return p === null ? null : (tokensIn * p.inputUsdPerMillion + tokensOut * p.outputUsdPerMillion) / 1_000_000;
}
