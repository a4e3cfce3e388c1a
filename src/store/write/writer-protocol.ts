import type { MigrationReport } from "../../db/schema.js";
import type { UsageColumns, UsageRow } from "./usage-columns.js";
import type { CommittedUsage } from "../../spend/spend-cells.js";
import type { RecordRow, RunMark } from "../../record/record-row.js";

export type { UsageRow };

/** Rows as the writer thread inserts them, positional in each table's column order. */
export type StatusRow = [channel: string, pid: number, status: string, featuresJson: string, registeredAt: string, lastSeen: string, pidStartTime: number | null];
export type SampleRow = [ts: string, channel: string, pid: number, rssMb: number, cpuPct: number, featuresJson: string];

export interface Batch {
  /** This run of the bridge, and the batch's number within it: a set-aside batch is committed once. */
  run: string;
  seq: number;
  now: number;
  /** Delete rows past their retention before committing (the first batch, then daily). */
  retention: boolean;
  statuses: StatusRow[];
  /** llm_usage rows as columns (usage-columns.ts), as they were queued. */
  usage: UsageColumns;
  samples: SampleRow[];
  /** The follower's position, saved in bridge_state with these rows (follow/llm-row-follower.ts). */
  followPosition?: number | undefined;
  /** The notifier's state (notify/notifier.ts), saved in notify_state with these rows. */
  notifyState?: string | undefined;
  /** State changes for bot_record (record/recorder.ts), in the order they happened. */
  record: RecordRow[];
  /** This run's mark in bridge_runs: the bridge was running up to `markMs`. */
  mark?: RunMark | undefined;
}

export type WorkerRequest = { type: "open" } | { type: "commit"; batch: Batch } | { type: "close" };

export type WorkerReply =
  | { type: "opened"; error: string | undefined; migration?: MigrationReport | undefined; replay?: ReplayReport | undefined }
  | { type: "committed"; ok: true; retentionError: string | undefined; replaced?: string | undefined; usage?: CommittedUsage | undefined; replay?: ReplayReport | undefined }
  | { type: "committed"; ok: false; op: "open" | "write"; error: string; retentionError?: string | undefined }
  | { type: "closed" };

/** Rows an earlier shutdown set aside (journal.ts), committed when the database was opened. */
export interface ReplayReport {
  rows: number;
  /** Batches already committed (they went through while that bridge was exiting). */
  skipped: number;
  /** Lines of the journal that were not whole batches. */
  torn: number;
}
