import { decodeLine, decodeObject } from "../protocol/decode.js";
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
import { OVERFLOW_LABEL, type RecordOutcome } from "../usage/usage-book.js";
import type { PricedLlmUsage } from "../pricing/price-table.js";
import type { LabelLimiter } from "../usage/label-limiter.js";
import { CounterMap } from "../util/counter-map.js";
import { fromSqlTime } from "../db/timestamps.js";

/** Where lifecycle messages go. */
export interface LifecycleSink {
  register(msg: RegisterMessage): RegisterOutcome;
  heartbeat(msg: HeartbeatMessage): HeartbeatOutcome;
  unregister(msg: UnregisterMessage): UnregisterOutcome;
  /** The channel's bot said goodbye and has not registered again. */
  unregisteredLately(channel: string): boolean;
}

/** Where usage messages go. */
export interface UsageSink {
  recordLlm(msg: PricedLlmUsage): RecordOutcome;
  recordCustom(msg: CustomMetricMessage): RecordOutcome;
  forget(channel: string): void;
}

/** Told about each llm_usage call the usage book accepted (the database and OpenTelemetry sinks). */
export interface LlmUsageObserver {
  llmUsage(msg: PricedLlmUsage): void;
}

/** Settles the cost of a call that did not report one. */
export interface Pricer {
  /** `atMs`: the call's time, for the price in force then (now when absent). */
  price(msg: LlmUsageMessage, atMs?: number): PricedLlmUsage;
}

/** Valid messages that changed nothing: the values of `kissbot_bridge_ignored_messages_total{reason}`. */
export const IGNORE_REASONS = ["pid_mismatch", "unknown_bot", "bot_limit", "label_limit", "duplicate_unregister", "pid_not_running", "after_unregister", "series_limit"] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];
/** Ignored, counted, but expected of stock clients: not worth a warning (KissBot unregisters twice at every shutdown). */
const EXPECTED: readonly string[] = ["duplicate_unregister"];

/**
 * Decodes each framed line and hands the message to the registry or the usage book.
 * A bad line is counted by reason, logged (rate-limited) and forgotten; the next line is
 * unaffected.
 */
export class Ingest {
  readonly accepted = new CounterMap<MessageType>(MESSAGE_TYPES);
  readonly rejected = new CounterMap<RejectReason>(REJECT_REASONS);
  readonly ignored = new CounterMap<IgnoreReason>(IGNORE_REASONS);
  #rowsFollowed = 0;
  /** Bots' own llm_usage rows, read from the database: turned into metrics, or rejected by reason. */
  get rowsFollowed(): number {
    return this.#rowsFollowed;
  }
  readonly rowsRejected = new CounterMap<RejectReason>(REJECT_REASONS);
  private readonly llmObservers: LlmUsageObserver[] = [];
  private readonly socketLlmObservers: LlmUsageObserver[] = [];

  constructor(
    private readonly lifecycle: LifecycleSink,
    private readonly usage: UsageSink,
    private readonly featureLimiter: LabelLimiter,
    private readonly prices: Pricer,
    private readonly log: RateLimitedLog,
  ) {}

  /** Every accepted call, from the socket or from the bots' own rows (OpenTelemetry). */
  observeLlmUsage(observer: LlmUsageObserver): void {
    this.llmObservers.push(observer);
  }

  /** Calls that came over the socket only (the database: the bots' rows are already in it). */
  observeSocketLlmUsage(observer: LlmUsageObserver): void {
    this.socketLlmObservers.push(observer);
  }

  /**
   * A row a bot wrote itself into llm_usage, as an object with the wire's field names. Checked
   * like a socket line, with the same label bounds; a bad row is counted and skipped.
   */
  row(value: Record<string, unknown>): void {
    this.#rowsFollowed++;
    const result = decodeObject(value);
    if (!result.ok || result.message.type !== "llm_usage") {
      const reason = result.ok ? "unknown_type" : result.reason;
      this.rowsRejected.inc(reason);
      this.log.warn(`row:${reason}`, { reason, detail: result.ok ? "" : result.detail, id: value["id"] }, "skipped a bot's llm_usage row");
      return;
    }
    if (this.lifecycle.unregisteredLately(result.message.channel)) return this.ignore("after_unregister", result.message);
    // Priced as of the row's own time: a row read late (after a price change) keeps its price.
    const at = typeof value["ts"] === "string" ? fromSqlTime(value["ts"]) : null;
    const priced = this.prices.price(result.message, at ?? undefined);
    const outcome = this.usage.recordLlm(priced);
    if (counted(outcome)) for (const o of this.llmObservers) o.llmUsage(bounded(priced, outcome));
    else this.ignore(outcome, result.message);
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
      case "llm_usage": {
        // A channel that said goodbye stays gone: its series are not brought back.
        if (this.lifecycle.unregisteredLately(m.channel)) {
          outcome = "after_unregister";
          break;
        }
        const priced = this.prices.price(m);
        const recorded = this.usage.recordLlm(priced);
        // Behind the usage book, so every metric sink shares its label bounds; the database
        // keeps the call as it was sent.
        if (counted(recorded)) {
          for (const o of this.socketLlmObservers) o.llmUsage(priced);
          for (const o of this.llmObservers) o.llmUsage(bounded(priced, recorded));
        }
        outcome = recorded;
        break;
      }
      case "custom_metric":
        outcome = this.lifecycle.unregisteredLately(m.channel) ? "after_unregister" : this.usage.recordCustom(m);
        break;
    }
    this.ignore(outcome, m);
  }

  private ignore(outcome: string, m: Message): void {
    if (!(IGNORE_REASONS as readonly string[]).includes(outcome)) return;
    this.ignored.inc(outcome as IgnoreReason);
    if (!EXPECTED.includes(outcome)) this.log.warn(`ignore:${outcome}`, { reason: outcome, channel: m.channel, type: m.type }, "ignored a message");
  }

  /** Feature flags become label values: flags past the label bound are dropped (and counted by the limiter). */
  private boundedFeatures(features: Features | null): Features | null {
    if (features === null) return null;
    const kept: Features = Object.create(null) as Features;
    for (const [name, on] of Object.entries(features)) if (this.featureLimiter.admit(name)) kept[name] = on;
    return kept;
  }
}

const counted = (outcome: RecordOutcome) => outcome === "ok" || outcome === "overflow";

/** The call as metric sinks see it: in its channel's overflow series when a bound was full. */
const bounded = (priced: PricedLlmUsage, outcome: RecordOutcome): PricedLlmUsage => (outcome === "overflow" ? { ...priced, model: OVERFLOW_LABEL, feature: OVERFLOW_LABEL } : priced);
