/** One look at a process, as the sampler needs it. */
export interface ProcessSnapshot {
  /** When the process started, in clock ticks since boot: with the PID, its identity. */
  startTime: number;
  /** Exited but not yet reaped by its parent: as good as dead. */
  zombie: boolean;
  /** User plus system CPU time the process has used. */
  cpuSeconds: number;
  rssBytes: number;
}

/**
 * Where process facts come from: /proc and pidusage in production, a scripted table in tests.
 * `null` means no such process is visible from here (it exited, or lives in another PID
 * namespace). Other failures (permissions, say) reject.
 */
export interface ProcessSource {
  inspect(pid: number): Promise<ProcessSnapshot | null>;
}
