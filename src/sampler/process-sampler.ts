import type { Logger } from "../log/logger.js";
import type { ProcessSnapshot, ProcessSource } from "./process-source.js";
import type { Bot } from "../registry/bot.js";
import type { SampleTarget } from "../registry/bot-registry.js";
import { withDefaults, type WithDefaults } from "../util/defaults.js";
import { every } from "../util/guard.js";

/** The part of the registry the sampler drives. */
export interface SampledRegistry {
  sampleTargets(): SampleTarget[];
  applySample(target: SampleTarget, snap: ProcessSnapshot | null): void;
}

export type ProcessSamplerOptions = {
  intervalMs: number;
  /** How many PIDs are read at once, at most (periodic rounds and first looks alike). */
  concurrency?: number;
};

/**
 * Looks at every watched bot's process each interval, and at a bot's process as soon as it
 * registers (the baseline). Runs never overlap: a tick that finds the previous run still
 * going is skipped and counted. Read failures are counted, never thrown.
 */
export class ProcessSampler {
  #errors = 0;
  get errors(): number {
    return this.#errors;
  }
  #overruns = 0;
  get overruns(): number {
    return this.#overruns;
  }
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /**
   * First looks waiting for a slot, by channel: a register storm queues here, a channel
   * registering again before its look replaces the waiting one (deduplicated), and one that
   * unregisters first is dropped. So the queue holds at most one entry per bot online.
   */
  private readonly firstLooks = new Map<string, SampleTarget>();
  /** Loops taking first looks off the queue: at most `concurrency`, however many bots register. */
  private drainers = 0;
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly options: WithDefaults<ProcessSamplerOptions, "concurrency">;

  constructor(
    private readonly registry: SampledRegistry,
    private readonly source: ProcessSource,
    private readonly log: Logger,
    options: ProcessSamplerOptions,
  ) {
    this.options = withDefaults(options, { concurrency: 16 });
  }

  start(): void {
    this.timer = every("sampler", this.options.intervalMs, () => this.tick());
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** RegistryObserver: take the baseline soon after a bot registers. */
  admitted(bot: Bot): void {
    this.firstLooks.set(bot.channel, { channel: bot.channel, pid: bot.pid, generation: bot.generation });
    if (this.drainers < this.options.concurrency) void this.drainFirstLooks();
  }

  /** RegistryObserver: a bot that left needs no first look. */
  unregistered(bot: Bot): void {
    this.firstLooks.delete(bot.channel);
  }

  /**
   * Until the queue is empty: a slot, then the oldest waiting look. A waiter per registration
   * instead (as before) held a promise chain for every channel of a storm, those long gone
   * included: a heap snapshot after 25,000 channels came and went held 13,600 of them.
   */
  private async drainFirstLooks(): Promise<void> {
    this.drainers++;
    try {
      while (this.firstLooks.size > 0) {
        await this.slot();
        const next = this.firstLooks.entries().next();
        if (next.done === true) {
          this.release();
          break;
        }
        const [channel, target] = next.value;
        this.firstLooks.delete(channel);
        try {
          await this.look(target);
        } finally {
          this.release();
        }
      }
    } finally {
      this.drainers--;
    }
  }

  /** Looks at these processes now (restored bots, before the first scrape). */
  async inspectNow(targets: readonly SampleTarget[]): Promise<void> {
    await Promise.all(targets.map((t) => this.inspect(t)));
  }

  tick(): Promise<void> {
    if (this.running !== undefined) {
      this.#overruns++;
      return this.running;
    }
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const queue = this.registry.sampleTargets();
    const workers = Array.from({ length: Math.min(this.options.concurrency, queue.length) }, async () => {
      for (let t = queue.pop(); t !== undefined; t = queue.pop()) await this.inspect(t);
    });
    await Promise.all(workers);
  }

  /** Waits for one of the `concurrency` slots that every read of /proc shares. */
  private async slot(): Promise<void> {
    if (this.inFlight < this.options.concurrency) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((r) => this.slotWaiters.push(r));
  }

  private release(): void {
    const next = this.slotWaiters.shift();
    if (next !== undefined) next();
    else this.inFlight--;
  }

  private async inspect(target: SampleTarget): Promise<void> {
    await this.slot();
    try {
      await this.look(target);
    } finally {
      this.release();
    }
  }

  private async look(target: SampleTarget): Promise<void> {
    let snap: ProcessSnapshot | null;
    try {
      snap = await this.source.inspect(target.pid);
    } catch (err) {
      this.#errors++;
      this.log.debug({ err, pid: target.pid, channel: target.channel }, "could not read process");
      return;
    }
    // Inside the run's chain: a throw here would reject the tick (ending the process) and stop
    // the other bots' samples of this round.
    try {
      this.registry.applySample(target, snap);
    } catch (err) {
      this.#errors++;
      this.log.debug({ err, pid: target.pid, channel: target.channel }, "could not apply a process sample");
    }
  }
}
