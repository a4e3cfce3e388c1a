import type { Request } from "express";

/**
 * A query parameter as one string: `fallback` when absent, undefined when it is given more than
 * once or as anything but text (`?range=a&range=b`, `?range[x]=1`), for the route to answer 400.
 */
export function queryValue(req: Request, name: string, fallback: string): string | undefined {
  const v: unknown = Object.hasOwn(req.query, name) ? req.query[name] : undefined;
  if (v === undefined) return fallback;
  return typeof v === "string" ? v : undefined;
}
