/**
 * Admits at most `max` distinct values for one label; values once admitted stay admitted.
 * Bots choose model, feature and metric names, so without this a bug in one bot could grow
 * the bridge's memory and Prometheus's series without limit.
 */
export class LabelLimiter {
  private readonly seen = new Set<string>();
  refused = 0;

  constructor(
    readonly label: string,
    private readonly max: number,
  ) {}

  admit(value: string): boolean {
    if (this.seen.has(value)) return true;
    if (this.seen.size >= this.max) {
      this.refused++;
      return false;
    }
    this.seen.add(value);
    return true;
  }
}

/**
 * Bounds the values held at one time, for labels whose values come and go (channels): a value
 * is released when its series are forgotten, so churn over months never exhausts the bound.
 */
export class ActiveLimiter {
  private readonly active = new Set<string>();
  refused = 0;

  constructor(
    readonly label: string,
    private readonly max: number,
  ) {}

  admit(value: string): boolean {
    if (this.active.has(value)) return true;
    if (this.active.size >= this.max) {
      this.refused++;
      return false;
    }
    this.active.add(value);
    return true;
  }

  release(value: string): void {
    this.active.delete(value);
  }
}
