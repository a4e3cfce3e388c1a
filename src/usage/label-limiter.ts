/**
 * Admits at most `max` distinct values of one label at a time. Bots choose channel, model,
 * feature and metric names, so without this a bug in one bot could grow the bridge's memory and
 * Prometheus's series without limit. Vocabularies (models, features, names) are never released;
 * channels are released when their bot unregisters, so churn never exhausts the bound.
 */
export class LabelLimiter {
  private readonly admitted = new Set<string>();
  #refused = 0;
  get refused(): number {
    return this.#refused;
  }

  constructor(
    readonly label: string,
    private readonly max: number,
  ) {}

  admit(value: string): boolean {
    if (this.admitted.has(value)) return true;
    if (this.admitted.size >= this.max) {
      this.#refused++;
      return false;
    }
    this.admitted.add(value);
    return true;
  }

  release(value: string): void {
    this.admitted.delete(value);
  }
}
