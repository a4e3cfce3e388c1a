import { decodeLine } from "../protocol/decode.js";
import {
  MESSAGE_TYPES,
  type CustomMetricMessage,
  type Features,
  type HeartbeatMessage,
  type LlmUsageMessage,
  type Message,
  type MessageType,
  type RegisterMessage,
  type UnregisterMessage,
} from "../protocol/messages.js";
import { REJECT_REASONS, type RejectReason } from "../protocol/reasons.js";
import type { HeartbeatOutcome, RegisterOutcome, UnregisterOutcome } from "../registry/bot-registry.js";
import type { RateLimitedLog } from "../log/rate-limited-log.js";
import type { RecordOutcome } from "../usage/usage-book.js";
import type { LabelLimiter } from "../usage/label-limiter.js";
import { CounterMap } from "../util/counter-map.js";

/** Where lifecycle messages go. */
export interface LifecycleSink {
  register(msg: RegisterMessage): RegisterOutcome;
  heartbeat(msg: HeartbeatMessage): HeartbeatOutcome;
  unregister(msg: UnregisterMessage): UnregisterOutcome;
}

/** Where usage messages go. */
export interface UsageSink {
  recordLlm(msg: LlmUsageMessage): RecordOutcome;
  recordCustom(msg: CustomMetricMessage): RecordOutcome;
  forget(channel: string): void;
}

/** Told about each llm_usage message the usage book accepted (the database and OpenTelemetry sinks). */
export interface LlmUsageObserver {
  llmUsage(msg: LlmUsageMessage): void;
}

/** Valid messages that changed nothing: the values of `kissbot_bridge_ignored_messages_total{reason}`. */
export const IGNORE_REASONS = ["pid_mismatch", "unknown_bot", "bot_limit", "label_limit"] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];

/**
 * Decodes each framed line and hands the message to the registry or the usage book.
 * A bad line is counted by reason, logged (rate-limited) and forgotten; the next line is
 * unaffected.
 */
export class Ingest {
  readonly accepted = new CounterMap<MessageType>(MESSAGE_TYPES);
  readonly rejected = new CounterMap<RejectReason>(REJECT_REASONS);
  readonly ignored = new CounterMap<IgnoreReason>(IGNORE_REASONS);
  private readonly llmObservers: LlmUsageObserver[] = [];

  constructor(
    private readonly lifecycle: LifecycleSink,
    private readonly usage: UsageSink,
    private readonly featureLimiter: LabelLimiter,
    private readonly log: RateLimitedLog,
  ) {}

  observeLlmUsage(observer: LlmUsageObserver): void {
    this.llmObservers.push(observer);
  }

  line(line: Buffer): void {
    const result = decodeLine(line);
    if (!result.ok) return this.reject(result.reason, result.detail);
    this.accepted.inc(result.message.type);
    this.dispatch(result.message);
  }

  tooLong(): void {
    this.reject("line_too_long", "line longer than the maximum was discarded");
  }

  private reject(reason: RejectReason, detail: string): void {
    this.rejected.inc(reason);
    this.log.warn(`reject:${reason}`, { reason, detail }, "rejected a line");
  }

  private dispatch(m: Message): void {
    let outcome: string;
    switch (m.type) {
      case "register":
        outcome = this.lifecycle.register({ ...m, features: this.boundedFeatures(m.features) });
        break;
      case "heartbeat":
        outcome = this.lifecycle.heartbeat(m);
        break;
      case "unregister":
        outcome = this.lifecycle.unregister(m);
        if (outcome === "ok") this.usage.forget(m.channel);
        break;
      case "llm_usage":
        outcome = this.usage.recordLlm(m);
        // Behind the usage book, so both sinks share its label bounds.
        if (outcome === "ok") for (const o of this.llmObservers) o.llmUsage(m);
        break;
      case "custom_metric":
        outcome = this.usage.recordCustom(m);
        break;
    }
    if ((IGNORE_REASONS as readonly string[]).includes(outcome)) {
      this.ignored.inc(outcome as IgnoreReason);
      this.log.warn(`ignore:${outcome}`, { reason: outcome, channel: m.channel, type: m.type }, "ignored a message");
    }
  }

  /** Feature flags become label values: flags past the label bound are dropped (and counted by the limiter). */
  private boundedFeatures(features: Features | null): Features | null {
    if (features === null) return null;
    const kept: Features = Object.create(null) as Features;
    for (const [name, on] of Object.entries(features)) if (this.featureLimiter.admit(name)) kept[name] = on;
    return kept;
  }
}
