/** One look at a process: what the registry is told of a bot's process (BotRegistry.applySample). */
export interface ProcessSnapshot {
  /** When the process started, in clock ticks since boot: with the PID, its identity. */
  startTime: number;
  /** Exited but not yet reaped by its parent: as good as dead. */
  zombie: boolean;
  /** User plus system CPU time the process has used. */
  cpuSeconds: number;
  rssBytes: number;
}
