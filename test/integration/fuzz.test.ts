import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import fc from "fast-check";
import { decodeLine } from "../../src/protocol/decode.js";
import { REJECT_REASONS } from "../../src/protocol/reasons.js";
import { Ingest } from "../../src/ingest/ingest.js";
import { BotRegistry } from "../../src/registry/bot-registry.js";
import { UsageBook } from "../../src/usage/usage-book.js";
import { loadPriceTable, ReloadablePrices } from "../../src/pricing/price-table.js";
import { RateLimitedLog } from "../../src/log/rate-limited-log.js";
import { createLogger } from "../../src/log/logger.js";
import { ManualClock } from "../../src/util/clock.js";
import { FIXTURES } from "../helpers/paths.js";
import { expositionOver } from "../helpers/exposition.js";
import { PYTHON } from "../helpers/python.js";

/**
 * Property-based: whatever a bot sends, the decoder answers a message or a reason, and whatever
 * it accepts, the exposition stays valid for Prometheus's own parser (promtool) and for the
 * reference OpenMetrics parser. fast-check shrinks a failure to its smallest input.
 */

// Names that have broken exporters before: quotes, backslashes, newlines, lone surrogates,
// control characters, emoji, very long names, label-looking text.
const nasty = fc.constantFrom('a"b', "a\\b", "a\nb", "\ud800", "\udc00x", "\u0000", "\u001b[31mred", "é😀", "x".repeat(300), '{a="b"}', "# HELP", "", " ");
const name = fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 20 }), nasty);
const channel = fc.oneof(fc.constantFrom("c1", "c2", "c_3"), fc.string({ maxLength: 70 }), nasty);
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1e308, -1e308, 5e-324, 2 ** 53, 1e9, 1e9 + 1, 86_400_000, 1e4, 1e4 + 1e-9));
const message = fc.record(
  {
    type: fc.constantFrom("register", "heartbeat", "unregister", "llm_usage", "custom_metric", "bogus"),
    channel,
    pid: fc.oneof(fc.constant(process.pid), number),
    features: fc.dictionary(name, fc.oneof(fc.boolean(), number), { maxKeys: 5 }),
    model: name,
    feature: name,
    tokens_in: number,
    tokens_out: number,
    latency_ms: number,
    estimated_cost: number,
    metric_name: name,
    value: number,
    rss_mb: number,
    cpu_pct: number,
  },
  { requiredKeys: ["type"] },
);
/** Names the decoder accepts, with everything an exposition must escape. */
const printable = fc.oneof(fc.stringMatching(/^[ -~]{1,30}$/), fc.constantFrom('a"b', "a\\b", "é😀", '{a="b"}', "# HELP x", "x".repeat(200)));
const mostlyPrintable = fc.oneof({ weight: 4, arbitrary: printable }, { weight: 1, arbitrary: name });
/** Messages within every range, so that most are accepted and only their text is hostile. */
const plausible = fc.oneof(
  fc.record({ type: fc.constant("register"), channel: fc.constantFrom("c1", "c2", "c_3"), pid: fc.constant(process.pid), features: fc.dictionary(mostlyPrintable, fc.boolean(), { maxKeys: 5 }) }),
  fc.record({
    type: fc.constant("llm_usage"),
    channel: fc.constantFrom("c1", "c2", "c_3"),
    model: mostlyPrintable,
    feature: mostlyPrintable,
    tokens_in: fc.nat({ max: 1e9 }),
    tokens_out: fc.nat({ max: 1e9 }),
    latency_ms: fc.double({ min: 0, max: 86_400_000, noNaN: true }),
    estimated_cost: fc.double({ min: 0, max: 1e4, noNaN: true }),
  }),
  fc.record({ type: fc.constant("custom_metric"), channel: fc.constantFrom("c1", "c2", "c_3"), metric_name: mostlyPrintable, value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
);
/** A line as a bot might send it: a plausible message, any message, or any bytes at all. */
const line = fc.oneof(
  { weight: 6, arbitrary: plausible.map((m) => Buffer.from(JSON.stringify(m))) },
  { weight: 2, arbitrary: message.map((m) => Buffer.from(JSON.stringify(m))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((s) => Buffer.from(s)) },
);

test("decoder: any bytes yield a valid message or a known reject reason, never an exception", () => {
  fc.assert(
    fc.property(line, (bytes) => {
      const r = decodeLine(bytes);
      if (!r.ok) return assert.ok((REJECT_REASONS as readonly string[]).includes(r.reason), r.reason);
      // What is accepted is within the documented ranges, and its text is printable.
      const m = r.message;
      const texts: string[] = [m.channel];
      if (m.type === "llm_usage") {
        for (const n of [m.tokensIn, m.tokensOut]) assert.ok(Number.isInteger(n) && n >= 0 && n <= 1e9, `tokens ${n}`);
        assert.ok(m.latencyMs === null || (m.latencyMs >= 0 && m.latencyMs <= 86_400_000), `latency ${m.latencyMs}`);
        assert.ok(m.estimatedCostUsd === null || (m.estimatedCostUsd >= 0 && m.estimatedCostUsd <= 1e4), `cost ${m.estimatedCostUsd}`);
        texts.push(m.model, m.feature);
      }
      if (m.type === "custom_metric") {
        assert.ok(Number.isFinite(m.value));
        texts.push(m.metricName);
      }
      if (m.type === "register") texts.push(...Object.keys(m.features ?? {}));
      for (const t of texts) assert.doesNotMatch(t, /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, JSON.stringify(t));
    }),
    { numRuns: 5000 },
  );
});

function pipeline() {
  const clock = new ManualClock();
  const registry = new BotRegistry(clock, { staleAfterMs: 120_000, maxBots: 50, refuseUnseenPids: false, maxFeatureSeries: 200 });
  const usage = new UsageBook({ maxLabelValues: 100, maxChannels: 50, maxLlmSeries: 300, maxCustomSeries: 300 });
  const log = new RateLimitedLog(createLogger("silent"), clock);
  const ingest = new Ingest(registry, usage, usage.limiters.feature, new ReloadablePrices(loadPriceTable(null), null), log);
  // Only the bridge's own families: prom-client's default process metrics are its own business
  // (and promtool's linter flags some of their names).
  return { ingest, exposition: expositionOver({ clock, bots: registry, usage, ingest }, "fuzz") };
}

test("exposition: whatever lines were accepted, promtool and the OpenMetrics reference parser accept the scrape", async () => {
  let checked = 0;
  let accepted = 0;
  await fc.assert(
    // At least 10 lines a scrape: with fast-check's small default sizes, 40 runs of 1..40 lines
    // accepted fewer than 100 messages for 22 seeds of 300 (0 to 299, the least 82); from 10
    // lines, for none (the least 311).
    fc.asyncProperty(fc.array(line, { minLength: 10, maxLength: 40 }), async (lines) => {
      const { ingest, exposition } = pipeline();
      for (const l of lines) ingest.line(l);
      accepted += ingest.accepted.total() - ingest.ignored.total();
      const text = (await exposition.render("prometheus")).body.toString();
      const promtool = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
      const om = (await exposition.render("openmetrics")).body.toString();
      const parsed = spawnSync(PYTHON, [join(FIXTURES, "parse_exposition.py"), "openmetrics"], { input: om, encoding: "utf8" });
      assert.equal(parsed.status, 0, `OpenMetrics parser: ${parsed.stderr}`);
      checked++;
    }),
    { numRuns: 40 },
  );
  assert.equal(checked, 40);
  assert.ok(accepted >= 100, `only ${accepted} messages were accepted: the property would say little`);
});
