import { internalErrors } from "../util/guard.js";

/** One password check waiting its turn. */
type Job = () => Promise<void>;

/**
 * Password checks, one at a time, taken in turn from each client address: a flood from a few
 * addresses cannot keep a scraper's first check from its turn, however many it sends. Bounded:
 * `perAddress` waiting per address, `total` in all; past either a check is refused, not queued.
 */
export class CheckQueue {
  /** Waiting jobs by address, in the order their addresses get their next turn. */
  private readonly waiting = new Map<string, Job[]>();
  private size = 0;
  private running = false;

  constructor(
    private readonly perAddress: number,
    private readonly total: number,
  ) {}

  /** Queues `job` for `address`; false (and nothing queued) when a bound is reached. */
  offer(address: string, job: Job): boolean {
    const mine = this.waiting.get(address);
    if (this.size >= this.total || (mine?.length ?? 0) >= this.perAddress) return false;
    if (mine === undefined) this.waiting.set(address, [job]);
    else mine.push(job);
    this.size++;
    this.pump();
    return true;
  }

  private pump(): void {
    if (this.running) return;
    const next = this.waiting.entries().next();
    if (next.done === true) return;
    const [address, jobs] = next.value;
    const job = jobs.shift()!;
    this.size--;
    // The address goes to the back of the line, or leaves it.
    this.waiting.delete(address);
    if (jobs.length > 0) this.waiting.set(address, jobs);
    this.running = true;
    // A job that throws is counted (kissbot_bridge_internal_errors_total), never the end of the queue.
    const done = () => {
      this.running = false;
      this.pump();
    };
    internalErrors.guard("http", async () => {
      try {
        await job();
      } finally {
        done();
      }
    })();
  }
}
