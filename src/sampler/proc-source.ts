import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { ProcessSnapshot, ProcessSource } from "./process-source.js";

const GONE = new Set(["ENOENT", "ESRCH"]);

/**
 * The kernel's clock tick and page size, from this process's auxiliary vector (AT_CLKTCK = 17,
 * AT_PAGESZ = 6): what `getconf CLK_TCK` and `getconf PAGESIZE` would print, without a child
 * process (a register storm once spawned thousands of them).
 */
export function kernelUnits(auxv: Buffer = readAuxv()): { clockTicksPerSecond: number; pageSizeBytes: number } {
  let clockTicksPerSecond = 100;
  let pageSizeBytes = 4096;
  for (let i = 0; i + 16 <= auxv.length; i += 16) {
    const type = Number(auxv.readBigUInt64LE(i));
    const value = Number(auxv.readBigUInt64LE(i + 8));
    if (type === 0) break;
    if (type === 17 && value > 0) clockTicksPerSecond = value;
    if (type === 6 && value > 0) pageSizeBytes = value;
  }
  return { clockTicksPerSecond, pageSizeBytes };
}

function readAuxv(): Buffer {
  try {
    return readFileSync("/proc/self/auxv");
  } catch {
    return Buffer.alloc(0);
  }
}

/** /proc/<pid>/stat, past the command name (which may hold spaces and parentheses). */
export function parseProcStat(text: string): { state: string; startTime: number; cpuTicks: number; rssPages: number } {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ", field n of proc(5) is rest[n - 3]: state 3, utime 14, stime 15,
  // starttime 22, rss 24.
  return { state: rest[0] ?? "", startTime: Number(rest[19]), cpuTicks: Number(rest[11]) + Number(rest[12]), rssPages: Number(rest[21]) };
}

/**
 * Linux processes as /proc/<pid>/stat shows them: identity (PID plus start time), zombie
 * state, CPU time and resident memory, in one read of one file that is closed at once. Nothing
 * is kept per PID, and no child process is ever started.
 */
export class ProcSource implements ProcessSource {
  private readonly units = kernelUnits();

  async inspect(pid: number): Promise<ProcessSnapshot | null> {
    let stat;
    try {
      stat = parseProcStat(await readFile(`/proc/${pid}/stat`, "latin1"));
    } catch (err) {
      if (GONE.has((err as NodeJS.ErrnoException).code ?? "")) return null;
      throw err;
    }
    const zombie = stat.state === "Z" || stat.state === "X";
    return {
      startTime: stat.startTime,
      zombie,
      cpuSeconds: zombie ? 0 : stat.cpuTicks / this.units.clockTicksPerSecond,
      rssBytes: zombie ? 0 : stat.rssPages * this.units.pageSizeBytes,
    };
  }
}
