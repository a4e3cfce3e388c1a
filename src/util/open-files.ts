import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** The soft and hard limits on open files of this process, from /proc/self/limits. */
export function openFilesLimit(): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m === null) return undefined;
    const n = (v: string) => (v === "unlimited" ? Infinity : Number(v));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

/**
 * Raises this process's soft limit on open files to its hard limit (systemd's default soft
 * limit is 1,024), so a flood of connections on one side cannot exhaust the descriptors the
 * other needs. Node has no setrlimit: util-linux's prlimit does it, once, at start. Returns the
 * limits as they are afterwards (prom-client exports the soft one as process_max_fds).
 */
export function raiseOpenFilesLimit(): { soft: number; hard: number; raised: boolean } | undefined {
  const before = openFilesLimit();
  if (before === undefined || before.soft >= before.hard || !Number.isFinite(before.hard)) return before && { ...before, raised: false };
  const r = spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${before.hard}:${before.hard}`], { stdio: "ignore", timeout: 2000 });
  const after = openFilesLimit() ?? before;
  return { ...after, raised: r.status === 0 && after.soft > before.soft };
}
