import type { Logger } from "../log/logger.js";
import type { ProcessSnapshot, ProcessSource } from "../registry/process-source.js";
import type { Bot } from "../registry/bot.js";
import type { SampleTarget } from "../registry/bot-registry.js";

/** The part of the registry the sampler drives. */
export interface SampledRegistry {
  sampleTargets(): SampleTarget[];
  applySample(target: SampleTarget, snap: ProcessSnapshot | null): void;
}

export type ProcessSamplerOptions = {
  intervalMs: number;
  /** How many PIDs are read at once. */
  concurrency?: number;
};

/**
 * Looks at every watched bot's process each interval, and at a bot's process as soon as it
 * registers (the baseline). Runs never overlap: a tick that finds the previous run still
 * going is skipped and counted. Read failures are counted, never thrown.
 */
export class ProcessSampler {
  errors = 0;
  overruns = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly registry: SampledRegistry,
    private readonly source: ProcessSource,
    private readonly log: Logger,
    private readonly options: ProcessSamplerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** RegistryObserver: take the baseline right after a bot registers. */
  registered(bot: Bot): void {
    void this.inspect({ channel: bot.channel, pid: bot.pid, generation: bot.generation });
  }

  /** Looks at these processes now (restored bots, before the first scrape). */
  async inspectNow(targets: readonly SampleTarget[]): Promise<void> {
    await Promise.all(targets.map((t) => this.inspect(t)));
  }

  tick(): Promise<void> {
    if (this.running !== undefined) {
      this.overruns++;
      return this.running;
    }
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const queue = this.registry.sampleTargets();
    const workers = Array.from({ length: Math.min(this.options.concurrency ?? 16, queue.length) }, async () => {
      for (let t = queue.pop(); t !== undefined; t = queue.pop()) await this.inspect(t);
    });
    await Promise.all(workers);
  }

  private async inspect(target: SampleTarget): Promise<void> {
    let snap: ProcessSnapshot | null;
    try {
      snap = await this.source.inspect(target.pid);
    } catch (err) {
      this.errors++;
      this.log.debug({ err, pid: target.pid, channel: target.channel }, "could not read process");
      return;
    }
    this.registry.applySample(target, snap);
  }
}
