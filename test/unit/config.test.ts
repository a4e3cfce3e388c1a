import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommandLine } from "../../src/config/config.js";
import { negotiate, negotiateFormat } from "../../src/metrics/format.js";

test("defaults are the documented ones", () => {
  const r = parseCommandLine([], {});
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config.socket, "/tmp/kissbot_monitor.sock");
  assert.equal(r.config.socketMode, 0o660);
  assert.deepEqual(r.config.listen, { host: "127.0.0.1", port: 9877 });
  assert.equal(r.config.staleAfterMs, 120_000);
  assert.equal(r.config.sampleIntervalMs, 15_000);
  assert.equal(r.config.idleTimeoutMs, 30_000);
  assert.equal(r.config.maxLineBytes, 65_536);
});

test("KISSBOT_MONITOR_SOCKET and the other variables apply; a flag wins over its variable", () => {
  const env = { KISSBOT_MONITOR_SOCKET: "/run/kissbot/monitor.sock", KISSBOT_BRIDGE_STALE_AFTER: "60", KISSBOT_BRIDGE_LISTEN: "[::1]:9000" };
  const r = parseCommandLine(["--stale-after", "90"], env);
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config.socket, "/run/kissbot/monitor.sock");
  assert.equal(r.config.staleAfterMs, 90_000);
  assert.deepEqual(r.config.listen, { host: "::1", port: 9000 });
});

test("a bad environment value names both the variable and its flag", () => {
  const r = parseCommandLine([], { KISSBOT_BRIDGE_SOCKET_MODE: "rwx" });
  assert.equal(r.kind, "error");
  assert.match(r.kind === "error" ? r.message : "", /KISSBOT_BRIDGE_SOCKET_MODE \(--socket-mode\)/);
});

test("Accept negotiation: OpenMetrics only when preferred", () => {
  assert.equal(negotiateFormat(undefined), "prometheus");
  assert.equal(negotiateFormat("*/*"), "prometheus");
  assert.equal(negotiateFormat("text/plain;version=0.0.4"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text; version=1.0.0"), "openmetrics");
  assert.equal(negotiateFormat("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.9"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), "openmetrics");
  assert.equal(negotiateFormat("application/openmetrics-text;version=2.0.0,text/plain;q=0.1"), "prometheus", "a version we do not write is not answered with another");
  assert.equal(negotiateFormat("application/openmetrics-text;q=0,text/plain;q=0.1"), "prometheus", "q=0 is a refusal");
  assert.deepEqual(negotiate("TEXT/PLAIN;Version=1.0.0;escaping=dots"), { format: "prometheus", contentType: "text/plain; version=1.0.0; charset=utf-8; escaping=dots" }, "names and parameters in any case");
  assert.equal(negotiate("text/plain;version=1.0.0;escaping=bogus").contentType, "text/plain; version=1.0.0; charset=utf-8", "an unknown scheme is not repeated");
  assert.equal(negotiate(undefined).contentType, "text/plain; version=0.0.4; charset=utf-8");
});

test("--kissbot-config: KissBot's monitoring section sets defaults under variables and flags", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const root = mkdtempSync(join(tmpdir(), "kb-cfg-"));
  mkdirSync(join(root, "config"));
  const path = join(root, "config", "config.yaml");
  writeFileSync(path, "monitoring:\n  enabled: true\n  socket_path: /run/kb.sock\n  metrics_interval: 15\n  heartbeat_interval: 30\n  stale_timeout: 60\n  data_retention_days: 3\n");
  const r = parseCommandLine(["--kissbot-config", path, "--sample-interval", "5"], { KISSBOT_BRIDGE_RETENTION_DAYS: "9" });
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config.socket, "/run/kb.sock");
  assert.equal(r.config.staleAfterMs, 60_000, "KissBot's stale_timeout, not the bridge's 120 s");
  assert.equal(r.config.sampleIntervalMs, 5_000, "a flag wins");
  assert.equal(r.config.retentionDays, 9, "a variable wins");
  assert.equal(r.config.db, join(root, "kissbot_monitor.db"), "the KissBot root's database");
  assert.equal(r.config.channelLogDir, join(root, "logs", "broadcast"));

  writeFileSync(path, "monitoring:\n  stale_timeout: soon\n");
  const bad = parseCommandLine(["--kissbot-config", path], {});
  assert.equal(bad.kind, "error");
  assert.match(bad.kind === "error" ? bad.message : "", /config\.yaml monitoring\.stale_timeout \(--stale-after\)/);
  const missing = parseCommandLine(["--kissbot-config", join(root, "nope.yaml")], {});
  assert.match(missing.kind === "error" ? missing.message : "", /invalid --kissbot-config: cannot read .*nope\.yaml/);
});

test("the price table: shipped prices, dated snapshots by prefix, an override file, no silent zero", async () => {
  const { loadPriceTable } = await import("../../src/pricing/price-table.js");
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const shipped = loadPriceTable(null);
  assert.match(shipped.updated, /^\d{4}-\d\d-\d\d$/);
  const call = (model: string, estimatedCostUsd: number | null = null) => shipped.price({ type: "llm_usage", channel: "c", model, feature: "f", tokensIn: 1_000_000, tokensOut: 1_000_000, latencyMs: null, estimatedCostUsd, operation: null });
  assert.deepEqual([call("gpt-4o").costUsd, call("gpt-4o").costSource], [12.5, "computed"]);
  assert.equal(call("gpt-4o-2024-08-06").costUsd, 12.5, "a dated snapshot takes its family's price");
  assert.equal(call("gpt-4o-mini").costUsd, 0.75, "the longest entry wins");
  assert.deepEqual([call("gpt-4o", 0.1).costUsd, call("gpt-4o", 0.1).costSource], [0.1, "reported"]);
  assert.deepEqual([call("my-finetune").costUsd, call("my-finetune").costSource], [null, null], "unknown: no price, never 0");
  assert.equal(call("gpt-4ox").costUsd, null, "a prefix must end at a separator");
  const dir = mkdtempSync(join(tmpdir(), "kb-prices-"));
  writeFileSync(join(dir, "p.yaml"), "updated: '2027-01-01'\nmodels:\n  my-finetune: { input: 1, output: 3 }\n  gpt-4o: { input: 5, output: 15 }\n");
  const merged = loadPriceTable(join(dir, "p.yaml"));
  assert.equal(merged.lookup("my-finetune")?.outputUsdPerMillion, 3);
  assert.equal(merged.lookup("gpt-4o")?.inputUsdPerMillion, 5, "the file replaces a shipped entry");
  assert.equal(merged.lookup("claude-3-opus")?.inputUsdPerMillion, 15, "and keeps the others");
  writeFileSync(join(dir, "bad.yaml"), "models:\n  x: { input: -1, output: 3 }\n");
  assert.throws(() => loadPriceTable(join(dir, "bad.yaml")), /bad\.yaml: model "x" needs input and output prices/);
});

test("dated prices and match patterns: the price in force at the call's time; before the first date, unpriced; patterns in Langfuse's (?i) form; bad entries named", async () => {
  const { loadPriceTable } = await import("../../src/pricing/price-table.js");
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "kb-prices-"));
  writeFileSync(
    join(dir, "p.yaml"),
    "models:\n  m:\n    match: '(?i)^(acme/)?m(-v\\d+)?$'\n    prices:\n      - { from: 2026-12-15, input: 2, output: 0 }\n      - { from: '2026-12-01T06:00:00Z', input: 1, output: 0 }\n",
  );
  const t = loadPriceTable(join(dir, "p.yaml"));
  const at = (iso: string, model = "m") => t.lookup(model, Date.parse(iso))?.inputUsdPerMillion;
  assert.equal(at("2026-12-01T05:59:59Z"), undefined, "before the first price: unpriced, never 0");
  assert.equal(at("2026-12-01T06:00:00Z"), 1);
  assert.equal(at("2026-12-14T23:59:59Z"), 1);
  assert.equal(at("2026-12-15T00:00:00Z"), 2, "a date starts at midnight UTC");
  assert.equal(at("2027-01-01T00:00:00Z", "ACME/M-v2"), 2, "the pattern, case-insensitive");
  assert.deepEqual([t.find("acme/m")?.entry.name, t.find("acme/m")?.how], ["m", "pattern"]);
  assert.equal(t.find("acme/mx"), undefined);
  assert.equal(loadPriceTable(null).find("gpt-4o-mini-2024-07-18")?.how, "pattern", "the shipped table has patterns");
  for (const [body, error] of [
    ["models:\n  x: { match: '([', input: 1, output: 1 }\n", /model "x": match is not a valid regular expression/],
    ["models:\n  x:\n    prices:\n      - { from: yesterday, input: 1, output: 1 }\n", /model "x": each price needs from: a date/],
    ["models:\n  x:\n    input: 1\n    prices:\n      - { from: 2026-01-01, input: 1, output: 1 }\n", /model "x": prices is a list of \{ from, input, output \}, and replaces input and output/],
  ] as const) {
    writeFileSync(join(dir, "bad.yaml"), body);
    assert.throws(() => loadPriceTable(join(dir, "bad.yaml")), error);
  }
});
