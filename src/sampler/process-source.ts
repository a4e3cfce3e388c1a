import type { ProcessSnapshot } from "../registry/process-snapshot.js";

export type { ProcessSnapshot };

/**
 * Where process facts come from: /proc in production, a scripted table in tests.
 * `null` means no such process is visible from here (it exited, or lives in another PID
 * namespace). Other failures (permissions, say) reject.
 */
export interface ProcessSource {
  inspect(pid: number): Promise<ProcessSnapshot | null>;
}
