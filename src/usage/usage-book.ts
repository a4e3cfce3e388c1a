import type { CustomMetricMessage } from "../protocol/messages.js";
import type { PricedLlmUsage } from "../pricing/price-table.js";
import { LabelLimiter } from "./label-limiter.js";
import { bucketIndex, LATENCY_BUCKETS_SECONDS } from "./latency-buckets.js";
import { withDefaults, type WithDefaults } from "../util/defaults.js";

export interface LlmSeries {
  readonly channel: string;
  readonly model: string;
  readonly feature: string;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  /** null until a call of this series reported its cost (estimated_cost, or cost_usd in a bot's row). */
  costReportedUsd: number | null;
  /** null until a call without a reported cost was priced from the price table. */
  costComputedUsd: number | null;
  /** Calls with no reported cost and no price for their model. */
  unpriced: number;
  /** Per-bucket (not cumulative) latency counts; the last slot is +Inf. */
  readonly latencyCounts: number[];
  /** Summed in milliseconds (what bots send) so sums stay exact; seconds only at render time. */
  latencySumMs: number;
  latencyCount: number;
  /** Bumped on every change, so a scrape can reuse the lines it rendered for an unchanged series. */
  version: number;
}

export type UsageBookOptions = {
  maxLabelValues: number;
  /** LLM series (channel × model × feature) at most, whatever each label's own bound allows. */
  maxLlmSeries?: number;
  /** Custom metric series (channel × name) at most. */
  maxCustomSeries?: number;
  /** Distinct channels at most (llm_usage and custom_metric need no registration, so this bounds them). */
  maxChannels: number;
};

/**
 * ok: counted in its own series; overflow: counted in its channel's overflow series (a bound on
 * models, features or LLM series was reached); label_limit: the channel bound was reached, or a
 * custom metric's name bound; series_limit: the custom series bound.
 */
export type RecordOutcome = "ok" | "overflow" | "label_limit" | "series_limit";

/**
 * The model and feature of a channel's overflow series: LLM calls that a full bound left without
 * a series of their own are still counted in their channel's requests, tokens and cost, under
 * this reserved value (one such series per channel at most, outside --max-llm-series). A bot
 * that names a model or feature so is counted in the same series.
 */
export const OVERFLOW_LABEL = "__overflow__";
const OVERFLOW_KEY = `${OVERFLOW_LABEL}\u0000${OVERFLOW_LABEL}`;

/**
 * LLM usage and custom metrics per channel, kept as plain numbers so that recording a message
 * is a map lookup and some additions; the metrics sink reads them when Prometheus scrapes.
 */
export class UsageBook {
  readonly limiters: { channel: LabelLimiter; model: LabelLimiter; feature: LabelLimiter; name: LabelLimiter };
  private readonly llm = new Map<string, Map<string, LlmSeries>>();
  private readonly custom = new Map<string, Map<string, number>>();
  /** Every LLM series in one array, built when asked for after a series came or went. */
  private llmList: LlmSeries[] | undefined;
  private llmCount = 0;
  private customCount = 0;
  /** New combinations refused because a total bound was reached, by kind. */
  readonly seriesRefused = { llm: 0, custom: 0 };

  private readonly options: WithDefaults<UsageBookOptions, "maxLlmSeries" | "maxCustomSeries">;

  constructor(options: UsageBookOptions) {
    this.options = withDefaults(options, { maxLlmSeries: Infinity, maxCustomSeries: Infinity });
    this.limiters = {
      channel: new LabelLimiter("channel", options.maxChannels),
      model: new LabelLimiter("model", options.maxLabelValues),
      feature: new LabelLimiter("feature", options.maxLabelValues),
      name: new LabelLimiter("name", options.maxLabelValues),
    };
  }

  recordLlm(msg: PricedLlmUsage): RecordOutcome {
    let byKey = this.llm.get(msg.channel);
    let outcome: RecordOutcome = "ok";
    let key = `${msg.model}\u0000${msg.feature}`;
    let s = byKey?.get(key);
    if (s === undefined) {
      if (byKey === undefined && !this.limiters.channel.admit(msg.channel)) return "label_limit";
      // The per-label bounds multiply: the total is bounded too, checked first so a combination
      // past it takes no label slot. Past any of them the call still counts, in its channel's
      // overflow series: a bot that filled a bound cannot take another bot's metrics away.
      if (this.llmCount >= this.options.maxLlmSeries) {
        this.seriesRefused.llm++;
        outcome = "overflow";
      } else if (!this.limiters.model.admit(msg.model) || !this.limiters.feature.admit(msg.feature)) {
        outcome = "overflow";
      }
      if (outcome === "overflow") {
        key = OVERFLOW_KEY;
        s = byKey?.get(key);
      }
    }
    if (s === undefined) {
      if (outcome === "ok") this.llmCount++;
      const model = outcome === "ok" ? msg.model : OVERFLOW_LABEL;
      const feature = outcome === "ok" ? msg.feature : OVERFLOW_LABEL;
      s = {
        channel: msg.channel,
        model,
        feature,
        requests: 0,
        tokensIn: 0,
        tokensOut: 0,
        costReportedUsd: null,
        costComputedUsd: null,
        unpriced: 0,
        latencyCounts: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0),
        latencySumMs: 0,
        latencyCount: 0,
        version: 0,
      };
      if (byKey === undefined) this.llm.set(msg.channel, (byKey = new Map()));
      byKey.set(key, s);
      this.llmList = undefined;
    }
    s.version++;
    s.requests++;
    s.tokensIn += msg.tokensIn;
    s.tokensOut += msg.tokensOut;
    if (msg.costSource === "reported") s.costReportedUsd = (s.costReportedUsd ?? 0) + msg.costUsd!;
    else if (msg.costSource === "computed") s.costComputedUsd = (s.costComputedUsd ?? 0) + msg.costUsd!;
    else s.unpriced++;
    if (msg.latencyMs !== null) {
      const seconds = msg.latencyMs / 1000;
      s.latencyCounts[bucketIndex(seconds)]!++;
      s.latencySumMs += msg.latencyMs;
      s.latencyCount++;
    }
    return outcome;
  }

  recordCustom(msg: CustomMetricMessage): RecordOutcome {
    let byName = this.custom.get(msg.channel);
    const known = byName?.has(msg.metricName) === true;
    if (!known && this.customCount >= this.options.maxCustomSeries) {
      this.seriesRefused.custom++;
      return "series_limit";
    }
    if (byName === undefined && !this.limiters.channel.admit(msg.channel)) return "label_limit";
    if (!known && !this.limiters.name.admit(msg.metricName)) return "label_limit";
    if (!known) this.customCount++;
    if (byName === undefined) this.custom.set(msg.channel, (byName = new Map()));
    byName.set(msg.metricName, msg.value);
    return "ok";
  }

  /** A bot left gracefully: its series go with it. */
  forget(channel: string): void {
    const llm = this.llm.get(channel);
    if (llm !== undefined) {
      this.llmCount -= llm.size - (llm.has(OVERFLOW_KEY) ? 1 : 0);
      this.llm.delete(channel);
      this.llmList = undefined;
    }
    this.customCount -= this.custom.get(channel)?.size ?? 0;
    this.custom.delete(channel);
    this.limiters.channel.release(channel);
  }

  /**
   * Every LLM series. The same array until a series is added or removed, so a scrape can keep
   * per-series state aligned with it and walk both with a plain index.
   */
  llmSeries(): readonly LlmSeries[] {
    if (this.llmList === undefined) {
      this.llmList = [];
      for (const byKey of this.llm.values()) for (const s of byKey.values()) this.llmList.push(s);
    }
    return this.llmList;
  }

  *customValues(): Generator<[channel: string, name: string, value: number]> {
    for (const [channel, byName] of this.custom) for (const [name, v] of byName) yield [channel, name, v];
  }
}
