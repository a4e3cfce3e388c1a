import { CounterMap } from "./counter-map.js";

/** The parts whose callbacks run outside any request or message, by the label they count under. */
export const COMPONENTS = ["evaluator", "sampler", "store", "reader", "follower", "spend", "status", "live_feed", "channel_log", "transport", "http", "notify", "record", "shutdown", "process"] as const;
export type Component = (typeof COMPONENTS)[number];

/** Where a caught error is reported, at a bounded rate (RateLimitedLog.warn fits). */
export type ErrorLog = (key: string, fields: Record<string, unknown>, msg: string) => void;

/**
 * Errors thrown by callbacks nobody awaits (timers, intervals, worker replies, stream and SSE
 * handlers). An exception there is uncaught and ends the process, taking every queued row with
 * it; here it is counted by component, logged at a bounded rate, and the component goes on at
 * its next tick. One per process, like the process's own uncaught-exception handler.
 */
export class InternalErrors {
  readonly counts = new CounterMap<Component>(COMPONENTS);
  private log: ErrorLog | undefined;

  /** Where reports go from now on (the bridge's rate-limited log). */
  attach(log: ErrorLog | undefined): void {
    this.log = log;
  }

  report(component: Component, err: unknown): void {
    this.counts.inc(component);
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      this.log?.(`internal:${component}`, { component, err: e.message, stack: e.stack }, `an internal error in ${component} was caught; it carries on at its next tick`);
    } catch {
      // a log that throws must not undo the catch
    }
  }

  /** `fn` as a callback that never throws nor returns a rejected promise. */
  guard<A extends unknown[]>(component: Component, fn: (...args: A) => unknown): (...args: A) => void {
    return (...args: A) => {
      try {
        const r = fn(...args);
        if (r instanceof Promise) r.catch((err: unknown) => this.report(component, err));
      } catch (err) {
        this.report(component, err);
      }
    };
  }
}

export const internalErrors = new InternalErrors();

/** setInterval for a component: guarded and unref()'d (a timer never keeps the bridge alive). */
export function every(component: Component, ms: number, fn: () => unknown): NodeJS.Timeout {
  return setInterval(internalErrors.guard(component, fn), ms).unref();
}

/** setTimeout for a component, guarded and unref()'d. */
export function after(component: Component, ms: number, fn: () => unknown): NodeJS.Timeout {
  return setTimeout(internalErrors.guard(component, fn), ms).unref();
}

/** Resolves after `ms` without holding the process open (for bounding a wait with Promise.race). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
