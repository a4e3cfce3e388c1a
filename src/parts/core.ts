import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { lifecycleLog } from "../log/lifecycle-log.js";
import { RateLimitedLog } from "../log/rate-limited-log.js";
import { Ingest } from "../ingest/ingest.js";
import { BotRegistry } from "../registry/bot-registry.js";
import { ProcessSampler } from "../sampler/process-sampler.js";
import type { ProcessSource } from "../sampler/process-source.js";
import { ProcSource } from "../sampler/proc-source.js";
import { UsageBook } from "../usage/usage-book.js";
import { loadPriceTable, ReloadablePrices } from "../pricing/price-table.js";
import { internalErrors } from "../util/guard.js";
import type { Clock } from "../util/clock.js";

/** The pipeline every bridge has, whatever is turned off: prices → ingest → registry and usage book, and the sampler. */
export function corePipeline(config: Config, log: Logger, clock: Clock, processSource: ProcessSource = new ProcSource()) {
  const limitedLog = new RateLimitedLog(log, clock);
  internalErrors.attach((key, fields, msg) => limitedLog.warn(key, fields, msg));
  const prices = new ReloadablePrices(loadPriceTable(config.prices), config.prices, clock);
  const registry = new BotRegistry(clock, { staleAfterMs: config.staleAfterMs, maxBots: config.maxBots, refuseUnseenPids: config.unseenPids === "refuse", maxFeatureSeries: config.maxFeatureSeries });
  const usage = new UsageBook({ maxLabelValues: config.maxLabelValues, maxChannels: config.maxBots, maxLlmSeries: config.maxLlmSeries, maxCustomSeries: config.maxCustomSeries });
  const ingest = new Ingest(registry, usage, usage.limiters.feature, prices, limitedLog);
  registry.observe({ refused: () => ingest.ignored.inc("pid_not_running") });
  const sampler = new ProcessSampler(registry, processSource, log, { intervalMs: config.sampleIntervalMs });
  registry.observe(lifecycleLog(log, limitedLog));
  registry.observe(sampler);
  return { limitedLog, prices, registry, usage, ingest, sampler };
}

export type Core = ReturnType<typeof corePipeline>;
