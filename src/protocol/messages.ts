/**
 * The KissBot Monitor wire protocol (see shared PROTOCOL.md): one JSON object per line,
 * fire-and-forget. These are the decoded, validated forms; field names stay snake_case on
 * the wire and become camelCase here.
 */
export const MESSAGE_TYPES = ["register", "heartbeat", "unregister", "llm_usage", "custom_metric"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export type Features = Record<string, boolean>;

export interface RegisterMessage {
  type: "register";
  channel: string;
  pid: number;
  /** null when the bot sent none (the protocol allows it to be absent). */
  features: Features | null;
}

export interface HeartbeatMessage {
  type: "heartbeat";
  channel: string;
  pid: number;
  /** The bot's own view of its memory and CPU, sent by some bots; used when its PID is not visible here. */
  rssMb: number | null;
  cpuPct: number | null;
}

export interface UnregisterMessage {
  type: "unregister";
  channel: string;
  pid: number;
}

export interface LlmUsageMessage {
  type: "llm_usage";
  channel: string;
  model: string;
  feature: string;
  tokensIn: number;
  tokensOut: number;
  latencyMs: number | null;
  estimatedCostUsd: number | null;
  /** The GenAI operation (chat, text_completion, embeddings, …); null: not sent, taken as chat. */
  operation: string | null;
}

export interface CustomMetricMessage {
  type: "custom_metric";
  channel: string;
  metricName: string;
  value: number;
}

export type Message =
  | RegisterMessage
  | HeartbeatMessage
  | UnregisterMessage
  | LlmUsageMessage
  | CustomMetricMessage;
