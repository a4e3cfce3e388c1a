import { delay, every, internalErrors, type Component } from "../util/guard.js";

/**
 * What every part of the bridge implements: started once, stopped once within a bound. A part
 * that has nothing to start has no `start`; `stop` never rejects (a failure is counted and the
 * next part still stops), like OpenTelemetry's providers' shutdown.
 */
export interface Part {
  readonly name: string;
  start?(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** A part made of two functions, for the small ones (a timer, a listener). */
export function part(name: string, stop: () => void | Promise<void>, start?: () => void | Promise<void>): Part {
  return start === undefined ? { name, stop } : { name, start, stop };
}

/**
 * When an interval's function first runs: one interval after start, at start without holding it
 * up (a slow first pass), or at start with start waiting for it (a first read others rely on).
 */
export type FirstRun = "after-interval" | "at-start" | "awaited";

/** A guarded interval as a part: started with the others, cleared at stop. */
export function intervalPart(name: string, component: Component, everyMs: number, fn: () => unknown, first: FirstRun = "after-interval"): Part {
  let timer: NodeJS.Timeout | undefined;
  return part(
    name,
    () => clearInterval(timer),
    async () => {
      if (first === "awaited") await Promise.resolve().then(fn).catch((err: unknown) => internalErrors.report(component, err));
      timer = every(component, everyMs, fn);
      if (first === "at-start") internalErrors.guard(component, fn)();
    },
  );
}

/** Told of each part as it stops (the bridge logs it at debug level). */
export type StopListener = (name: string, ms: number) => void;

/**
 * The parts started so far, as a stack: `stop` (and a start that fails half-way) unwinds it in
 * reverse order of starting, as fastify closes its hooks, so a part never outlives what it
 * uses. Parts started together (`startAll`) stop together, each bounded, so that slow ones do
 * not add up. A second `stop` waits for the first.
 */
export class Lifecycle {
  private readonly stack: Part[][] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    /** How long one level of the stack may take to stop before the next is stopped anyway. */
    private readonly levelBoundMs = 3000,
    private readonly onStopped: StopListener = () => {},
  ) {}

  /** Starts `p` and pushes it; a part that fails to start is not pushed (its own start cleans up). */
  async start<P extends Part>(p: P): Promise<P> {
    await this.startAll([p]);
    return p;
  }

  /** Starts parts that are independent of each other, one after the other, and pushes them as one level. */
  async startAll(parts: readonly Part[]): Promise<void> {
    if (this.stopping !== undefined) throw new Error("the bridge is stopping");
    const level: Part[] = [];
    this.stack.push(level);
    for (const p of parts) {
      await p.start?.();
      level.push(p);
    }
  }

  /** Stops everything started, newest first; resolves once every level has stopped or run out of time. */
  stop(): Promise<void> {
    this.stopping ??= this.unwind();
    return this.stopping;
  }

  private async unwind(): Promise<void> {
    for (let level = this.stack.pop(); level !== undefined; level = this.stack.pop()) {
      await Promise.race([Promise.all(level.map((p) => this.stopOne(p))), delay(this.levelBoundMs)]);
    }
  }

  private async stopOne(p: Part): Promise<void> {
    const started = Date.now();
    try {
      await p.stop();
    } catch (err) {
      internalErrors.report("shutdown", err);
    }
    this.onStopped(p.name, Date.now() - started);
  }
}
