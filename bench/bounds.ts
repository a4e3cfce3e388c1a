import { BotRegistry } from "../src/registry/bot-registry.js";
import { UsageBook } from "../src/usage/usage-book.js";
import { ManualClock } from "../src/util/clock.js";
import { benchExposition, scraper, time } from "./render.js";
import { FLAGS } from "../src/config/flags.js";

/**
 * /metrics with every bound at its default full: --max-bots bots (each with a visible process,
 * CPU and memory), --max-feature-series flags, --max-llm-series LLM series with latency and
 * both costs, --max-custom-series custom metrics. Size of one scrape and its render time
 * (median of 7; steady state, and with every series changed since the previous scrape).
 */
export async function benchBounds() {
  const n = (flag: { default: string }) => Number(flag.default);
  const maxBots = n(FLAGS.maxBots);
  const maxFeatures = n(FLAGS.maxFeatureSeries);
  const maxLlm = n(FLAGS.maxLlmSeries);
  const maxCustom = n(FLAGS.maxCustomSeries);
  const clock = new ManualClock();
  const registry = new BotRegistry(clock, { staleAfterMs: 120_000, maxBots, maxFeatureSeries: maxFeatures });
  const usage = new UsageBook({ maxLabelValues: n(FLAGS.maxLabelValues), maxChannels: maxBots, maxLlmSeries: maxLlm, maxCustomSeries: maxCustom });
  const perBot = Math.ceil(maxFeatures / maxBots);
  for (let b = 0; b < maxBots; b++) {
    const features = Object.fromEntries(Array.from({ length: perBot }, (_, f) => [`feature_flag_${f}`, f % 2 === 0]));
    registry.register({ type: "register", channel: `channel_${b}`, pid: 100_000 + b, features });
    registry.applySample({ channel: `channel_${b}`, pid: 100_000 + b, generation: b + 1 }, { startTime: 1, zombie: false, cpuSeconds: 10, rssBytes: 80_000_000 });
    clock.advance(1);
    registry.applySample({ channel: `channel_${b}`, pid: 100_000 + b, generation: b + 1 }, { startTime: 1, zombie: false, cpuSeconds: 10.5, rssBytes: 80_000_000 });
  }
  const calls: Parameters<UsageBook["recordLlm"]>[0][] = [];
  for (let i = 0; i < maxLlm; i++) {
    const msg = { type: "llm_usage" as const, channel: `channel_${i % maxBots}`, model: `model_${i % 7}`, feature: `feature_${Math.floor(i / maxBots)}`, tokensIn: 100, tokensOut: 50, latencyMs: 300 + (i % 900), estimatedCostUsd: null, operation: null };
    calls.push({ ...msg, costUsd: 0.001, costSource: "reported" as const }, { ...msg, costUsd: 0.0005, costSource: "computed" as const });
  }
  for (const c of calls) usage.recordLlm(c);
  for (let i = 0; i < maxCustom; i++) usage.recordCustom({ type: "custom_metric", channel: `channel_${i % maxBots}`, metricName: `queue_${Math.floor(i / maxBots)}`, value: i });
  const scrape = scraper(benchExposition(clock, registry, usage));
  const steadyMs = await time(scrape.render);
  const changedMs = await time(scrape.render, () => {
    for (const c of calls) usage.recordLlm(c);
  });
  return { maxBots, maxFeatures, maxLlm, maxCustom, llmSeries: usage.llmSeries().length, bytes: scrape.bytes(), steadyMs, changedMs };
}
