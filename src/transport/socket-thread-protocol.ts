import type { LineBatch } from "./line-batch.js";
import { CONNECTION_DROP_REASONS, type SocketServerOptions } from "./socket-server.js";

/**
 * The socket thread's counts, kept in shared memory as BigInt64s so the main thread reads them
 * current at any time (a scrape right after a connection closed sees it closed): counts since
 * that thread started, in this order.
 */
export const STAT_SLOTS = ["accepted", "open", "buffered", ...CONNECTION_DROP_REASONS] as const;
export const statSlot = (name: (typeof STAT_SLOTS)[number]) => STAT_SLOTS.indexOf(name);

export type SocketThreadData = {
  options: SocketServerOptions;
  /** Two BigInt64s: bytes and lines of batches the main thread has handled. */
  handled: SharedArrayBuffer;
  /** STAT_SLOTS, as BigInt64s. */
  stats: SharedArrayBuffer;
};

/** From the main thread to the socket thread. */
export type ToSocketThread = { op: "start" } | { op: "pause" } | { op: "resume" } | { op: "stop"; graceMs: number };

/** From the socket thread to the main thread. */
export type FromSocketThread =
  | { kind: "started"; backlog: number }
  | { kind: "failed"; message: string; code: string | undefined }
  | ({ kind: "batch" } & LineBatch)
  | { kind: "error"; message: string; stack: string | undefined }
  | { kind: "stopped" };
