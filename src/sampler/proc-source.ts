import { readFile } from "node:fs/promises";
import pidusage from "pidusage";
import type { ProcessSnapshot, ProcessSource } from "../registry/process-source.js";

const GONE = new Set(["ENOENT", "ESRCH"]);

function isGone(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return GONE.has(e.code ?? "") || /No matching pid/.test(e.message ?? "");
}

/** State and start time from /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): { state: string; startTime: number } {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ", field 3 (state) is rest[0] and field 22 (starttime) is rest[19].
  return { state: rest[0] ?? "", startTime: Number(rest[19]) };
}

/**
 * Linux processes as seen through /proc (identity: PID plus start time, and zombie state) and
 * pidusage (CPU time and resident memory). pidusage keeps per-PID history with an open file
 * descriptor; its `clear()` drops every entry without closing them, so forgotten PIDs are left
 * to expire on their own after `historyMaxAgeMs`.
 */
export class ProcSource implements ProcessSource {
  constructor(private readonly historyMaxAgeMs: number) {}

  async inspect(pid: number): Promise<ProcessSnapshot | null> {
    let stat;
    try {
      stat = parseProcStat(await readFile(`/proc/${pid}/stat`, "latin1"));
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
    if (stat.state === "Z" || stat.state === "X") {
      return { startTime: stat.startTime, zombie: true, cpuSeconds: 0, rssBytes: 0 };
    }
    try {
      const usage = await pidusage(pid, { maxage: this.historyMaxAgeMs });
      return { startTime: stat.startTime, zombie: false, cpuSeconds: usage.ctime / 1000, rssBytes: usage.memory };
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
  }
}
