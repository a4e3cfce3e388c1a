import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Every way out of this process, counted: pricing must use none of them. */
function watchNetwork(): string[] {
  const used: string[] = [];
  const net = require("node:net") as typeof import("node:net");
  const http = require("node:http") as typeof import("node:http");
  const https = require("node:https") as typeof import("node:https");
  const dns = require("node:dns") as typeof import("node:dns");
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: import("node:net").Socket, ...args: unknown[]) {
    used.push(`socket ${JSON.stringify(args[0])}`);
    return (connect as (...a: unknown[]) => import("node:net").Socket).apply(this, args);
  } as typeof connect;
  for (const [name, mod] of [["http", http], ["https", https]] as const) {
    const request = mod.request;
    (mod as { request: unknown }).request = (...args: unknown[]) => {
      used.push(`${name}.request`);
      return (request as (...a: unknown[]) => unknown)(...args);
    };
  }
  const lookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = (...args: unknown[]) => {
    used.push("dns.lookup");
    return (lookup as (...a: unknown[]) => unknown)(...args);
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
    used.push(`fetch ${String(args[0])}`);
    return realFetch(...args);
  }) as typeof fetch;
  return used;
}

/** Current model names as bots send them, priced through nine of the library's providers, the shipped table and local rules: what prices each, and its price per 1M tokens. */
const NAMES: Array<[string, "file" | "shipped" | "library" | "local", string, number, number]> = [
  ["claude-sonnet-4-20250514", "library", "anthropic/claude-sonnet-4-0", 3, 15],
  ["gpt-5", "library", "openai/gpt-5", 1.25, 10],
  ["openrouter/anthropic/claude-3.5-sonnet", "library", "openrouter/anthropic/claude-3.5-sonnet", 3, 15],
  ["gemini-2.0-flash", "library", "google/gemini-2.0-flash", 0.1, 0.4],
  ["deepseek-chat", "library", "deepseek/deepseek-chat", 0.27, 1.1],
  ["o3-mini", "library", "openai/o3-mini", 1.1, 4.4],
  ["llama3.1:8b", "local", "", 0, 0],
  ["gpt-4o-mini-2024-07-18", "shipped", "gpt-4o-mini", 0.15, 0.6],
  ["gpt-4o", "shipped", "gpt-4o", 2.5, 10],
  ["gpt-5-mini", "library", "openai/gpt-5-mini", 0.25, 2],
  ["o4-mini", "library", "openai/o4-mini", 1.1, 4.4],
  ["openai/gpt-4.1-nano", "shipped", "gpt-4.1-nano", 0.1, 0.4],
  ["claude-3-5-haiku-20241022", "shipped", "claude-3-5-haiku", 0.8, 4],
  ["claude-opus-4-1", "library", "anthropic/claude-opus-4-1", 15, 75],
  ["anthropic/claude-3-7-sonnet-latest", "library", "anthropic/claude-3-7-sonnet-latest", 3, 15],
  ["gemini-2.5-pro", "library", "google/gemini-2.5-pro", 1.25, 10],
  ["gemini-2.5-flash", "library", "google/gemini-2.5-flash", 0.3, 2.5],
  ["mistral-large-latest", "library", "mistral/mistral-large", 2, 6],
  ["mistral-small-latest", "library", "mistral/mistral-small-latest", 0.1, 0.3],
  ["codestral-latest", "library", "mistral/codestral", 0.3, 0.9],
  ["grok-3", "library", "x-ai/grok-3", 3, 15],
  ["x-ai/grok-4", "library", "x-ai/grok-4-0709", 3, 15],
  ["grok-3-mini", "library", "x-ai/grok-3-mini", 0.3, 0.5],
  ["command-r-plus", "library", "cohere/command-r-plus", 2.5, 10],
  ["command-r", "library", "cohere/command-r", 0.15, 0.6],
  ["deepseek-reasoner", "library", "deepseek/deepseek-reasoner", 0.55, 2.19],
  ["meta-llama/llama-3.1-8b-instruct", "library", "openrouter/meta-llama/llama-3.1-8b-instruct", 0.02, 0.03],
  ["groq/llama-3.3-70b-versatile", "library", "groq/llama-3.3-70b-versatile", 0.59, 0.79],
  ["qwen2.5:7b", "local", "", 0, 0],
  ["ollama/llama3", "local", "", 0, 0],
  ["gpt-oss:20b", "local", "", 0, 0],
  ["lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF", "local", "", 0, 0],
  ["mistral-7b-instruct", "shipped", "mistral-7b-instruct", 0, 0],
];

test("every current model name is priced by the file, the shipped table, a local rule or the price library, with the price expected; local ones cost 0; no network is used", async () => {
  const used = watchNetwork();
  const { loadPriceTable } = await import("../../src/pricing/price-table.js");
  const table = loadPriceTable(null);
  // At noon UTC: DeepSeek's off-peak hours (16:30-00:30 UTC) halve its prices.
  const noon = Date.UTC(2026, 11, 7, 12);
  const providers = new Set<string>();
  for (const [name, source, entry, input, output] of NAMES) {
    const r = table.resolve(name);
    assert.ok(r !== undefined, `${name} is priced`);
    const got = r.kind === "entry" ? [r.entry.source, r.entry.name] : r.kind === "local" ? ["local", ""] : ["library", `${r.match.providerId}/${r.match.modelId}`];
    assert.deepEqual(got, [source, entry], name);
    if (r.kind === "library") providers.add(r.match.providerId);
    const p = table.lookup(name, noon)!;
    assert.deepEqual([p.inputUsdPerMillion, p.outputUsdPerMillion], [input, output], `${name}: USD per 1M tokens`);
    const call = table.price({ type: "llm_usage", channel: "c", model: name, feature: "f", tokensIn: 1000, tokensOut: 500, latencyMs: null, estimatedCostUsd: null, operation: null }, noon);
    assert.equal(call.costSource, "computed", name);
    assert.ok(Math.abs(call.costUsd! - (1000 * input + 500 * output) / 1e6) < 1e-12, `${name}: ${call.costUsd}`);
  }
  assert.ok(NAMES.length >= 30 && providers.size >= 6, `${NAMES.length} names, providers ${[...providers].join(", ")}`);
  assert.equal(table.resolve("my-finetune"), undefined, "a name nobody knows stays unpriced, never 0");
  assert.equal(table.resolve("anthropic.claude-3-sonnet-20240229-v1:0")?.kind === "local", false, "Bedrock's :0 is not an Ollama tag");
  assert.deepEqual(used, [], "no request, connection or lookup while pricing");
});

test("prices the library tiers or varies by the hour are computed per call: Gemini 2.5 Pro's long prompts, DeepSeek's off-peak hours", async () => {
  const { loadPriceTable } = await import("../../src/pricing/price-table.js");
  const table = loadPriceTable(null);
  const cost = (model: string, tokensIn: number, tokensOut: number, at: number) => table.price({ type: "llm_usage", channel: "c", model, feature: "f", tokensIn, tokensOut, latencyMs: null, estimatedCostUsd: null, operation: null }, at).costUsd!;
  const noon = Date.UTC(2026, 11, 7, 12);
  assert.ok(Math.abs(cost("gemini-2.5-pro", 100_000, 1000, noon) - (100_000 * 1.25 + 1000 * 10) / 1e6) < 1e-12, "under 200k input tokens: the base price");
  assert.ok(Math.abs(cost("gemini-2.5-pro", 300_000, 1000, noon) - (300_000 * 2.5 + 1000 * 15) / 1e6) < 1e-12, "over 200k: the higher tier");
  assert.ok(Math.abs(cost("deepseek-chat", 1_000_000, 0, noon) - 0.27) < 1e-12);
  assert.ok(Math.abs(cost("deepseek-chat", 1_000_000, 0, Date.UTC(2026, 11, 7, 20)) - 0.135) < 1e-12, "off-peak");
});

test("the order of the sources: the price file first (its local rules too), then the shipped table, then the library", async () => {
  const { loadPriceTable } = await import("../../src/pricing/price-table.js");
  const dir = mkdtempSync(join(tmpdir(), "kb-prices-lib-"));
  const file = join(dir, "prices.yaml");
  writeFileSync(file, "updated: '2026-12-07'\nlocal:\n  - gpt-5\n  - '(?i)^acme/'\nmodels:\n  gpt-4o: { input: 9, output: 9 }\n  llama3.1:8b: { input: 0.5, output: 0.5 }\n");
  const table = loadPriceTable(file);
  assert.equal(table.lookup("gpt-4o")!.inputUsdPerMillion, 9, "the file over the shipped table");
  assert.equal(table.resolve("GPT-5")!.kind, "local", "declared local by the file: free, whatever the library says");
  assert.equal(table.resolve("acme/claude-sonnet-4")!.kind, "local");
  assert.equal(table.lookup("llama3.1:8b")!.inputUsdPerMillion, 0.5, "a price in the file over the shipped local rule (a paid host)");
  assert.equal(table.resolve("claude-sonnet-4-20250514")!.kind, "library");
  assert.deepEqual(table.sources().map((s) => s.source), ["file", "shipped", "library"]);
  assert.equal(table.sources()[0]!.version, "2026-12-07");
  assert.match(table.sources()[2]!.version, /^\d+\.\d+\.\d+$/);
});
