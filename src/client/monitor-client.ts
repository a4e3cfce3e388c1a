import { connect } from "node:net";
import { stat } from "node:fs/promises";
import { pythonJsonDumps } from "./wire.js";

export const DEFAULT_SOCKET_PATH = "/tmp/kissbot_monitor.sock";

export type MonitorClientOptions = {
  /** The Twitch channel, which identifies the bot. */
  channel: string;
  /** Usually `process.pid`. */
  pid: number;
  /** Defaults to $KISSBOT_MONITOR_SOCKET, else /tmp/kissbot_monitor.sock. */
  socketPath?: string;
  /** How long one send may take, connecting included. Default 2000. */
  timeoutMs?: number;
  /** Told about failed sends (the methods themselves only return false). Default: silent. */
  onError?: (err: Error, messageType: string) => void;
};

export type LlmUsage = {
  model: string;
  feature: string;
  tokensIn: number;
  tokensOut: number;
  latencyMs?: number;
  /** Sent as `estimated_cost` (US dollars). */
  estimatedCostUsd?: number;
};

/** The bot's own view of itself, which some heartbeats carry. */
export type HeartbeatExtras = { rssMb?: number; cpuPct?: number };

/**
 * The KissBot Monitor client for Node bots, with the semantics of the stock Python client:
 * one connection per message, nothing read back, and every method resolves `true` when the
 * message was handed to the socket and `false` when the Monitor is absent, refuses, or times
 * out. No method throws or rejects, and the heartbeat timer never keeps the process alive.
 */
export class MonitorClient {
  readonly channel: string;
  readonly pid: number;
  readonly socketPath: string;
  readonly timeoutMs: number;
  private readonly onError: (err: Error, messageType: string) => void;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(options: MonitorClientOptions) {
    this.channel = options.channel;
    this.pid = options.pid;
    this.socketPath = options.socketPath ?? process.env["KISSBOT_MONITOR_SOCKET"] ?? DEFAULT_SOCKET_PATH;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.onError = options.onError ?? (() => {});
  }

  register(features?: Record<string, boolean> | Map<string, boolean>): Promise<boolean> {
    return this.send({ type: "register", channel: this.channel, pid: this.pid, features: featuresToRecord(features ?? {}) });
  }

  heartbeat(extras: HeartbeatExtras = {}): Promise<boolean> {
    return this.send({ type: "heartbeat", channel: this.channel, pid: this.pid, rss_mb: extras.rssMb, cpu_pct: extras.cpuPct });
  }

  unregister(): Promise<boolean> {
    return this.send({ type: "unregister", channel: this.channel, pid: this.pid });
  }

  logLlmUsage(usage: LlmUsage): Promise<boolean> {
    return this.send({
      type: "llm_usage",
      channel: this.channel,
      model: usage.model,
      feature: usage.feature,
      tokens_in: usage.tokensIn,
      tokens_out: usage.tokensOut,
      latency_ms: usage.latencyMs ?? null,
      estimated_cost: usage.estimatedCostUsd,
    });
  }

  sendCustomMetric(metricName: string, value: number): Promise<boolean> {
    return this.send({ type: "custom_metric", channel: this.channel, metric_name: metricName, value });
  }

  /** Sends a heartbeat every `intervalSeconds` (default 30), the first one an interval from now. */
  async startHeartbeat(intervalSeconds = 30): Promise<void> {
    if (this.heartbeatTimer !== undefined) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), intervalSeconds * 1000);
    this.heartbeatTimer.unref();
  }

  /** Safe to call twice, or without a heartbeat started. */
  async stopHeartbeat(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async send(message: Record<string, unknown>): Promise<boolean> {
    const type = String(message["type"]);
    try {
      // As the stock client: no socket file, no Monitor; give up at once.
      await stat(this.socketPath);
      await this.write(`${pythonJsonDumps(message)}\n`);
      return true;
    } catch (err) {
      this.onError(err as Error, type);
      return false;
    }
  }

  private write(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path: this.socketPath });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no room on ${this.socketPath} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
      socket.once("connect", () => {
        // Resolved once the whole line is in the socket's kernel buffer: handed over.
        socket.end(line, () => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        });
      });
    });
  }
}

/** Turns a Map or an object of feature flags into the `features` record the protocol carries. */
export function featuresToRecord(features: Record<string, unknown> | Map<string, unknown>): Record<string, boolean> {
  const entries = features instanceof Map ? [...features.entries()] : Object.entries(features);
  const out = Object.create(null) as Record<string, boolean>; // a flag named __proto__ stays a flag
  for (const [name, on] of entries) out[String(name)] = Boolean(on);
  return out;
}
