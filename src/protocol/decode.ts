import type { Features, Message } from "./messages.js";
import type { RejectReason } from "./reasons.js";
import { CHANNEL_PATTERN, MAX_COST_USD, MAX_CPU_PCT, MAX_FEATURES, MAX_LATENCY_MS, MAX_NAME_LENGTH, MAX_PID, MAX_RSS_MB, MAX_TOKENS } from "./limits.js";

export type DecodeResult =
  | { ok: true; message: Message }
  | { ok: false; reason: RejectReason; detail: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Rejection {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {}
}

function reject(reason: RejectReason, detail: string): never {
  throw new Rejection(reason, detail);
}

/**
 * Decodes one line (without its newline) into a validated message. Never throws: every
 * failure comes back as a reason, so the caller can count it and carry on with the next line.
 * Unknown extra fields are ignored, as the protocol requires.
 */
export function decodeLine(line: Uint8Array): DecodeResult {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return { ok: false, reason: "invalid_utf8", detail: "line is not valid UTF-8" };
  }
  if (text.trim() === "") return { ok: false, reason: "empty_line", detail: "blank line" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: "invalid_json", detail: (err as Error).message };
  }
  return decodeObject(value);
}

/** Validates an already parsed message (a line's JSON, or a bot's llm_usage row read from the database). */
export function decodeObject(value: unknown): DecodeResult {
  try {
    return { ok: true, message: toMessage(value) };
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, reason: err.reason, detail: err.detail };
    throw err;
  }
}

function toMessage(value: unknown): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    reject("not_an_object", "a message must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  const type = o["type"];
  if (type === undefined) reject("missing_field", "type is missing");
  const channel = channelOf(o);
  switch (type) {
    case "register":
      return { type: "register", channel, pid: pidOf(o), features: featuresOf(o) };
    case "heartbeat":
      return {
        type: "heartbeat",
        channel,
        pid: pidOf(o),
        rssMb: optionalNumber(o, "rss_mb", 0, MAX_RSS_MB),
        cpuPct: optionalNumber(o, "cpu_pct", 0, MAX_CPU_PCT),
      };
    case "unregister":
      return { type: "unregister", channel, pid: pidOf(o) };
    case "llm_usage":
      return {
        type: "llm_usage",
        channel,
        model: nameOf(o, "model"),
        feature: nameOf(o, "feature"),
        tokensIn: tokensOf(o, "tokens_in"),
        tokensOut: tokensOf(o, "tokens_out"),
        latencyMs: optionalNumber(o, "latency_ms", 0, MAX_LATENCY_MS),
        estimatedCostUsd: optionalNumber(o, "estimated_cost", 0, MAX_COST_USD),
        operation: o["operation"] === undefined || o["operation"] === null ? null : operationOf(o),
      };
    case "custom_metric": {
      const v = o["value"];
      if (v === undefined || v === null) reject("missing_field", "value is missing");
      if (typeof v !== "number" || !Number.isFinite(v)) reject("invalid_field", "value must be a finite number");
      return { type: "custom_metric", channel, metricName: nameOf(o, "metric_name"), value: v };
    }
    default:
      reject("unknown_type", `unknown type ${JSON.stringify(type).slice(0, 64)}`);
  }
}

function channelOf(o: Record<string, unknown>): string {
  const c = o["channel"];
  if (c === undefined || c === null) reject("missing_field", "channel is missing");
  if (typeof c !== "string" || !CHANNEL_PATTERN.test(c)) {
    reject("invalid_channel", "channel must match [A-Za-z0-9_]{1,64}");
  }
  return c;
}

function pidOf(o: Record<string, unknown>): number {
  const p = o["pid"];
  if (p === undefined || p === null) reject("missing_field", "pid is missing");
  if (typeof p !== "number" || !Number.isInteger(p) || p <= 0 || p > MAX_PID) {
    reject("invalid_pid", "pid must be a positive integer");
  }
  return p;
}

function nameOf(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (v === undefined || v === null) reject("missing_field", `${field} is missing`);
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_NAME_LENGTH) {
    reject("invalid_field", `${field} must be a string of 1 to ${MAX_NAME_LENGTH} characters`);
  }
  checkText(v, field);
  return v;
}

/** A lone UTF-16 surrogate (which JSON.parse lets through) or a control character. */
const BAD_TEXT = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Names become label values, database text and terminal output: a lone surrogate would give
 * series that look identical and bytes other readers (Python's sqlite3) cannot decode; a
 * control character could drive the terminal of whoever runs `kissbot-bridge usage`. Rejected,
 * not rewritten, so what is stored is what the bot sent.
 */
function checkText(v: string, field: string): void {
  if (BAD_TEXT.test(v)) reject("invalid_text", `${field} holds a control character or a lone UTF-16 surrogate`);
}

/** A GenAI operation name: lower-case words joined by underscores, such as text_completion. */
function operationOf(o: Record<string, unknown>): string {
  const v = o["operation"];
  if (typeof v !== "string" || !/^[a-z][a-z0-9_]{0,63}$/.test(v)) reject("invalid_field", "operation must be a name such as chat or embeddings");
  return v;
}

function tokensOf(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (v === undefined || v === null) reject("missing_field", `${field} is missing`);
  if (typeof v !== "number" || !Number.isSafeInteger(v)) reject("invalid_field", `${field} must be an integer`);
  if (v < 0) reject("negative_value", `${field} must not be negative`);
  if (v > MAX_TOKENS) reject("out_of_range", `${field} must be at most ${MAX_TOKENS}`);
  return v;
}

/** Absent and null mean "not sent" (Python's None serialises as null). */
function optionalNumber(o: Record<string, unknown>, field: string, min: number, max = Number.MAX_VALUE): number | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) reject("invalid_field", `${field} must be a finite number`);
  if (v < min) reject("negative_value", `${field} must not be negative`);
  if (v > max) reject("out_of_range", `${field} must be at most ${max}`);
  return v;
}

function featuresOf(o: Record<string, unknown>): Features | null {
  const f = o["features"];
  if (f === undefined || f === null) return null;
  if (typeof f !== "object" || Array.isArray(f)) reject("invalid_field", "features must be an object");
  const entries = Object.entries(f as Record<string, unknown>);
  if (entries.length > MAX_FEATURES) reject("invalid_field", `features may name at most ${MAX_FEATURES} flags`);
  // A null prototype keeps a flag named __proto__ an ordinary flag.
  const features: Features = Object.create(null) as Features;
  for (const [name, enabled] of entries) {
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) reject("invalid_field", "feature names must be 1 to 128 characters");
    checkText(name, "a feature name");
    if (typeof enabled !== "boolean") reject("invalid_field", `feature ${name.slice(0, 64)} must be true or false`);
    features[name] = enabled;
  }
  return features;
}
