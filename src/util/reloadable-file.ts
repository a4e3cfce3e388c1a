/**
 * A file the bridge reads at start and rereads on SIGHUP (--budgets, --notify-config): what was
 * read, replaced whole by `reload`; a file that fails to load leaves it as it was.
 */
export class ReloadableFile<T extends { path: string }> {
  constructor(
    private value: T,
    private readonly load: (path: string) => T,
  ) {}

  get current(): T {
    return this.value;
  }

  /** Throws (keeping what is in use) when the file cannot be read or is invalid. */
  reload(): T {
    this.value = this.load(this.value.path);
    return this.value;
  }
}
