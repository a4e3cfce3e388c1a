import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import type { SampleRow, StatusRow, UsageRow } from "./writer-protocol.js";
import type { RecordRow, RunMark } from "../../record/record-row.js";

/**
 * Rows the database could not take within the shutdown bound, set aside beside it: one JSON line
 * per batch, appended and synced. The next start commits each batch exactly once: a batch carries
 * its run and sequence number, and every commit records the last sequence of its run in
 * bridge_state in the same transaction, so a batch that did commit after all (the lock went away
 * while the bridge was exiting) is recognised and skipped.
 */
export interface JournalEntry {
  run: string;
  seq: number;
  statuses: StatusRow[];
  usage: UsageRow[];
  samples: SampleRow[];
  followPosition?: number | undefined;
  notifyState?: string | undefined;
  /** Absent in journals written before the record existed. */
  record?: RecordRow[] | undefined;
  mark?: RunMark | undefined;
}

export const journalPath = (dbPath: string) => `${dbPath}.journal`;

/** bridge_state's key for the last batch a run committed. */
export const batchKey = (run: string) => `batch:${run}`;

export const entryRows = (e: JournalEntry) => e.usage.length + e.samples.length + e.statuses.length + (e.record?.length ?? 0);

/** Appends the entries and waits until they are on disk. Throws when they cannot be written. */
export function appendJournal(path: string, entries: readonly JournalEntry[], mode: number): void {
  if (entries.length === 0) return;
  const fd = openSync(path, "a", mode);
  try {
    writeSync(fd, entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The entries in the journal, in order; a line that is not a whole entry (a torn write) is skipped and counted. */
export function readJournal(path: string): { entries: JournalEntry[]; torn: number } | undefined {
  if (!existsSync(path)) return undefined;
  const entries: JournalEntry[] = [];
  let torn = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line === "") continue;
    try {
      const e = JSON.parse(line) as JournalEntry;
      if (typeof e.run !== "string" || !Number.isSafeInteger(e.seq) || !Array.isArray(e.usage) || !Array.isArray(e.samples) || !Array.isArray(e.statuses)) throw new Error("not an entry");
      entries.push(e);
    } catch {
      torn++;
    }
  }
  return { entries, torn };
}
