import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseCommandLine, type Config } from "../../src/config/config.js";
import { startBridge } from "../../src/main.js";
import { ManualClock } from "../../src/util/clock.js";
import { sendOnce } from "../helpers/raw-client.js";
import { runCli } from "../helpers/cli.js";
import { Samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";
import { loadPriceTable } from "../../src/pricing/price-table.js";
import { LIBRARY_VERSION } from "../../src/pricing/library-prices.js";

const DAY = 86_400_000;
const call = (model: string) => `${JSON.stringify({ type: "llm_usage", channel: "el_serda", model, feature: "ask", tokens_in: 1_000_000, tokens_out: 0 })}\n`;

test("dated prices: a month whose price changes on the 15th is priced with both, in the cost counters and in `usage --by model`; provider-prefixed and dated snapshot names find their price", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-prices-"));
  const prices = join(dir, "prices.yaml");
  writeFileSync(
    prices,
    [
      "updated: '2026-12-15'",
      "models:",
      "  gpt-4o-mini:",
      "    match: '(?i)^(openai/)?gpt-4o-mini(-\\d{4}-\\d{2}-\\d{2})?$'",
      "    prices:",
      "      - { from: 2026-12-15, input: 2.00, output: 8.00 }",
      "      - { from: 2026-12-01, input: 1.00, output: 4.00 }",
      "",
    ].join("\n"),
  );
  const parsed = parseCommandLine(["--socket", join(dir, "monitor.sock"), "--db", join(dir, "kissbot_monitor.db"), "--channel-log-dir", join(dir, "logs"), "--listen", "127.0.0.1:0", "--prices", prices], {});
  assert.equal(parsed.kind, "run");
  const clock = new ManualClock(Date.UTC(2026, 11, 10, 12));
  const bridge = await startBridge((parsed as { config: Config }).config, pino({ level: "silent" }), { clock });
  const metrics = async () => new Samples(await (await fetch(`http://127.0.0.1:${bridge.httpAddress.port}/metrics`)).text());
  try {
    for (const model of ["gpt-4o-mini", "openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", "GPT-4o-mini"]) await sendOnce(join(dir, "monitor.sock"), call(model));
    await waitFor("four calls counted", async () => ((await metrics()).sum("kissbot_llm_requests_total") === 4 ? true : undefined));
    clock.advance(10 * DAY); // December 20th: the new price
    await sendOnce(join(dir, "monitor.sock"), call("gpt-4o-mini"));
    const s = await waitFor("five calls counted", async () => {
      const m = await metrics();
      return m.sum("kissbot_llm_requests_total") === 5 ? m : undefined;
    });
    const cost = (model: string) => s.get("kissbot_llm_cost_usd_total", { channel: "el_serda", model, feature: "ask", cost_source: "computed" });
    assert.equal(cost("gpt-4o-mini"), 1 + 2, "1M input tokens on the 10th at 1 USD, on the 20th at 2 USD");
    for (const model of ["openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", "GPT-4o-mini"]) assert.equal(cost(model), 1, `${model} priced as gpt-4o-mini`);
    assert.equal(s.sum("kissbot_llm_unpriced_requests_total"), 0);
    // Which price sources are loaded, in the order they are asked.
    assert.equal(s.get("kissbot_llm_price_info", { source: "file", version: "2026-12-15" }), 1);
    assert.equal(s.get("kissbot_llm_price_info", { source: "shipped", version: loadPriceTable(null).sources()[0]!.version }), 1);
    assert.equal(s.get("kissbot_llm_price_info", { source: "library", version: LIBRARY_VERSION }), 1);
  } finally {
    await bridge.stop();
  }
  // What accounting reads afterwards: the database, as `usage` prints it.
  const usage = await runCli(["usage", "--db", join(dir, "kissbot_monitor.db"), "--url", "http://127.0.0.1:9", "--since", "3650d", "--by", "model", "--json"]);
  assert.equal(usage.code, 0, usage.stderr);
  const rows = new Map((JSON.parse(usage.stdout).rows as { key: string; calls: number; cost_usd: number }[]).map((r) => [r.key, r]));
  assert.deepEqual([rows.get("gpt-4o-mini")?.calls, rows.get("gpt-4o-mini")?.cost_usd], [2, 3]);
  assert.equal(rows.get("openai/gpt-4o-mini")?.cost_usd, 1);

  // `prices --match` says which entry a name finds, and how.
  const m = await runCli(["prices", "--prices", prices, "--match", "openai/gpt-4o-mini"]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^openai\/gpt-4o-mini → gpt-4o-mini of the price file .*prices\.yaml \(by the pattern \(\?i\)\^\(openai\/\)\?gpt-4o-mini/);
  assert.match(m.stdout, /2026-12-01 +1\.00 +4\.00\n.*2026-12-15 +2\.00 +8\.00/);
  const none = await runCli(["prices", "--match", "my-finetune"]);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /my-finetune: no entry in the shipped table or @pydantic\/genai-prices [\d.]+; its calls are unpriced/);
  // The shipped table: the same names find gpt-4o-mini's price.
  for (const name of ["openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18"]) {
    const r = JSON.parse((await runCli(["prices", "--match", name, "--json"])).stdout) as { entry: string; now: { input: number } };
    assert.deepEqual([r.entry, r.now.input], ["gpt-4o-mini", 0.15], name);
  }
});

test("`prices --match` says which source prices a name: the price library with its version, a local rule (free), or nobody; a live bridge prices a library model and counts a local one at 0", async () => {
  const lib = await runCli(["prices", "--match", "claude-sonnet-4-20250514"]);
  assert.equal(lib.code, 0, lib.stderr);
  assert.equal(lib.stdout, `claude-sonnet-4-20250514 → anthropic/claude-sonnet-4-0 of @pydantic/genai-prices ${LIBRARY_VERSION}: now 3.00 input, 15.00 output per 1M tokens\n`);
  const json = JSON.parse((await runCli(["prices", "--match", "openrouter/anthropic/claude-3.5-sonnet", "--json"])).stdout) as Record<string, unknown>;
  assert.deepEqual([json["source"], json["entry"], json["how"], json["version"]], ["library", "openrouter/anthropic/claude-3.5-sonnet", "library", LIBRARY_VERSION]);
  const local = await runCli(["prices", "--match", "llama3.1:8b"]);
  assert.match(local.stdout, /^llama3\.1:8b → run locally, by the local rule .* of the shipped table: free/);
  const none = await runCli(["prices", "--match", "my-finetune"]);
  assert.match(none.stdout, /no entry in the shipped table or @pydantic\/genai-prices /);

  const dir = mkdtempSync(join(tmpdir(), "kb-prices-live-"));
  const parsed = parseCommandLine(["--socket", join(dir, "monitor.sock"), "--db", join(dir, "kissbot_monitor.db"), "--channel-log-dir", join(dir, "logs"), "--listen", "127.0.0.1:0"], {});
  const bridge = await startBridge((parsed as { config: Config }).config, pino({ level: "silent" }), { clock: new ManualClock(Date.UTC(2026, 11, 7, 12)) });
  try {
    for (const model of ["claude-sonnet-4-20250514", "llama3.1:8b", "my-finetune"]) await sendOnce(join(dir, "monitor.sock"), call(model));
    const s = await waitFor("three calls counted", async () => {
      const m = new Samples(await (await fetch(`http://127.0.0.1:${bridge.httpAddress.port}/metrics`)).text());
      return m.sum("kissbot_llm_requests_total") === 3 ? m : undefined;
    });
    const cost = (model: string) => s.get("kissbot_llm_cost_usd_total", { channel: "el_serda", model, feature: "ask", cost_source: "computed" });
    assert.equal(cost("claude-sonnet-4-20250514"), 3, "1M input tokens at 3 USD");
    assert.equal(cost("llama3.1:8b"), 0, "local: 0, computed, not unknown");
    assert.equal(s.get("kissbot_llm_unpriced_requests_total", { channel: "el_serda", model: "my-finetune", feature: "ask" }), 1);
    assert.equal(s.get("kissbot_llm_unpriced_requests_total", { channel: "el_serda", model: "llama3.1:8b", feature: "ask" }), undefined);
  } finally {
    await bridge.stop();
  }
});
