/** Rows as the writer thread inserts them, positional in each table's column order. */
export type StatusRow = [channel: string, pid: number, status: string, features: string | null, registeredAt: string, lastHeartbeat: string | null, pidStartTime: number | null];
export type UsageRow = [channel: string, model: string, feature: string, tokensIn: number, tokensOut: number, latencyMs: number | null, cost: number | null, timestamp: string];
export type SampleRow = [timestamp: string, channel: string, pid: number, rssMb: number | null, cpuPct: number | null, features: string | null];

export interface Batch {
  now: number;
  /** Delete rows past their retention before committing (the first batch, then daily). */
  retention: boolean;
  statuses: StatusRow[];
  usage: UsageRow[];
  samples: SampleRow[];
}

export type WorkerRequest = { type: "open" } | { type: "commit"; batch: Batch } | { type: "close" };

export type WorkerReply =
  | { type: "opened"; error: string | undefined }
  | { type: "committed"; ok: true; retentionError: string | undefined }
  | { type: "committed"; ok: false; op: "open" | "write"; error: string; retentionError?: string | undefined }
  | { type: "closed" };
