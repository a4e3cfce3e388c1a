import { Counter, Histogram, Registry } from "prom-client";
import { BotRegistry } from "../src/registry/bot-registry.js";
import { UsageBook } from "../src/usage/usage-book.js";
import { Exposition } from "../src/metrics/exposition.js";
import { LATENCY_BUCKETS_SECONDS } from "../src/usage/latency-buckets.js";
import { ManualClock } from "../src/util/clock.js";
import { expositionOver } from "../test/helpers/exposition.js";

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median time of `runs` calls of `fn` after one warm-up; `before` runs untimed before each. */
export async function time(fn: () => Promise<unknown>, before: () => void = () => {}, runs = 7): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    before();
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

/** The bridge's families over a registry and usage book filled by a benchmark, idle elsewhere. */
export function benchExposition(clock: ManualClock, registry: BotRegistry, usage: UsageBook): Exposition {
  return expositionOver({ clock, bots: registry, usage }, "bench");
}

/**
 * Renders as the HTTP server does, releasing each body once "sent" so the next render reuses
 * its memory; `bytes` is the size of the last one.
 */
export function scraper(exposition: Exposition): { render(): Promise<void>; bytes(): number } {
  let bytes = 0;
  return {
    async render() {
      // A turn of the loop first, as between two HTTP scrapes: a render still in its turn would
      // be shared, not measured (Exposition.render).
      await new Promise((resolve) => setImmediate(resolve));
      const r = await exposition.render("prometheus");
      bytes = r.body.length;
      r.release();
    },
    bytes: () => bytes,
  };
}

/**
 * /metrics for `bots` bots × `models` × `features` LLM series, rendered by the bridge, and the
 * same data held in prom-client Counters and Histograms and rendered by prom-client (the baseline).
 */
export async function benchRender(bots = 1000, models = 5, features = 5) {
  const clock = new ManualClock();
  const registry = new BotRegistry(clock, { staleAfterMs: 120_000, maxBots: bots });
  const usage = new UsageBook({ maxLabelValues: 1000, maxChannels: bots });
  const prom = new Registry();
  const labels = ["channel", "model", "feature"];
  const requests = new Counter({ name: "kissbot_llm_requests_total", help: "h", labelNames: labels, registers: [prom] });
  const tokens = new Counter({ name: "kissbot_llm_tokens_total", help: "h", labelNames: [...labels, "token_type"], registers: [prom] });
  const latency = new Histogram({ name: "kissbot_llm_latency_seconds", help: "h", labelNames: labels, buckets: [...LATENCY_BUCKETS_SECONDS], registers: [prom] });
  const messages: Parameters<UsageBook["recordLlm"]>[0][] = [];
  for (let b = 0; b < bots; b++) {
    const channel = `channel_${b}`;
    registry.register({ type: "register", channel, pid: 100_000 + b, features: { llm: true, music: false } });
    for (let m = 0; m < models; m++) {
      for (let f = 0; f < features; f++) {
        const msg = { type: "llm_usage" as const, channel, model: `model_${m}`, feature: `feature_${f}`, tokensIn: 100, tokensOut: 50, latencyMs: 300 + m * 100, estimatedCostUsd: 0.001, operation: null, costUsd: 0.001, costSource: "reported" as const };
        usage.recordLlm(msg);
        messages.push(msg);
        const l = { channel, model: msg.model, feature: msg.feature };
        requests.inc(l);
        tokens.inc({ ...l, token_type: "input" }, 100);
        tokens.inc({ ...l, token_type: "output" }, 50);
        latency.observe(l, msg.latencyMs / 1000);
      }
    }
  }
  const scrape = scraper(benchExposition(clock, registry, usage));
  const render = scrape.render;
  // Steady state: no series changed since the previous scrape.
  const bridgeMs = await time(render);
  // Worst case: every series received a call since the previous scrape (not counted in the time).
  const bridgeAllChangedMs = await time(render, () => {
    for (const m of messages) usage.recordLlm(m);
  });
  const baselineMs = await time(() => prom.metrics());
  return { series: bots * models * features, bytes: scrape.bytes(), bridgeMs, bridgeAllChangedMs, baselineMs };
}
