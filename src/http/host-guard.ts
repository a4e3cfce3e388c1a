import { isIP } from "node:net";
import type { NextFunction, Request, Response } from "express";
import type { CounterMap } from "../util/counter-map.js";

export type HttpRefusal = "host" | "max_connections" | "unauthorized" | "auth_busy" | "client_cert";
export const HTTP_REFUSALS: readonly HttpRefusal[] = ["host", "max_connections", "unauthorized", "auth_busy", "client_cert"];

/** The host part of a Host header: `[::1]:9877` → `::1`, `Example.org.:80` → `example.org`. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  const name = h.startsWith("[") ? h.slice(1, h.indexOf("]") < 0 ? undefined : h.indexOf("]")) : h.replace(/:\d*$/, "");
  return name.replace(/\.$/, "");
}

/**
 * Which Host headers the bridge answers: an IP address (a page can only reach one under its own
 * origin), `localhost` and names under it, the listen host, and the names given with
 * --allowed-hosts. Anything else is a name a page on another origin may have pointed at
 * 127.0.0.1 (DNS rebinding) to read the API and /metrics: the defence Jupyter and Vite use.
 */
export function hostAllowed(header: string | undefined, listenHost: string, allowed: ReadonlySet<string>): boolean {
  if (header === undefined || header === "") return false;
  const name = hostName(header);
  if (isIP(name) !== 0) return true;
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === listenHost.toLowerCase()) return true;
  if (allowed.has("*")) return true;
  return allowed.has(name);
}

/** Express middleware refusing other Host headers with 403, counted. */
export function hostGuard(listenHost: string, allowed: readonly string[], refused: CounterMap<HttpRefusal>, logRefusal: (host: string) => void) {
  const names = new Set(allowed.map((a) => a.toLowerCase().replace(/\.$/, "")));
  return (req: Request, res: Response, next: NextFunction): void => {
    const host = req.headers.host;
    if (hostAllowed(host, listenHost, names)) return next();
    refused.inc("host");
    logRefusal(String(host ?? "").slice(0, 100));
    res.status(403).type("text/plain").send("Host not allowed: start the bridge with --allowed-hosts NAME to serve it under that name.\n");
  };
}
