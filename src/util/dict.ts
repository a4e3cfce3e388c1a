/**
 * An empty object with no prototype, for JSON keyed by names that bots, files or requests
 * choose: in it `constructor`, `toString` and `__proto__` are ordinary keys, where on a `{}` they
 * read Object.prototype's members (and `__proto__` cannot be set at all). Prefer a Map; this is
 * for objects that are serialised as they are.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
