/**
 * A class's options with their defaults filled in once, where it reads them, so that no method
 * repeats a default. A value left undefined takes the default.
 */
export function withDefaults<T extends object, K extends keyof T>(options: T, defaults: Required<Pick<T, K>>): WithDefaults<T, K> {
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(given) } as WithDefaults<T, K>;
}

/** Options whose keys K always hold a value. */
export type WithDefaults<T, K extends keyof T> = T & Required<Pick<T, K>>;
