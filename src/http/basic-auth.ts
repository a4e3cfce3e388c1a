import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import bcrypt from "bcryptjs";

/** Results of bcrypt kept, so a scrape every 15 s does not pay a bcrypt check (~0.1 s of CPU) each time. */
const CACHE_SIZE = 256;
/** bcrypt checks running at once at most: a flood of wrong passwords cannot take every core. */
const MAX_CHECKS = 4;
/**
 * Compared against when the user does not exist, so an unknown user takes as long as a wrong
 * password. Written out (cost 10, as hash-password makes them): hashing it at load cost every
 * start about 90 ms of CPU, web config or not.
 */
const DUMMY_HASH = "$2b$10$GdyyNWQZTl./jFvFQx4IDekQc..Id5y4VQRQQTVKczlQZuGFIfjBa";

export type AuthRefusal = "unauthorized" | "auth_busy" | "client_cert";

const digest = (...parts: string[]) => createHash("sha256").update(parts.join("\u0000")).digest();

/**
 * HTTP basic auth against bcrypt hashes (the web config's basic_auth_users), checked in
 * constant time: unknown users are compared against a dummy hash, and cached successes are
 * found by a SHA-256 of user, password and hash compared with timingSafeEqual. A check that
 * fails is never cached, so every wrong guess costs bcrypt's time; past MAX_CHECKS at once, a
 * request is answered 429 rather than queued.
 */
export class BasicAuth {
  private readonly cache = new Map<string, Buffer>();
  private checking = 0;

  constructor(
    private readonly users: () => ReadonlyMap<string, string>,
    private readonly refuse: (reason: AuthRefusal, user: string) => void,
  ) {}

  /** Express middleware; paths for which `open` is true need no credentials. */
  middleware(open: (path: string) => boolean) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const users = this.users();
      if (users.size === 0 || open(req.path)) return next();
      const given = credentials(req.headers.authorization);
      const deny = (reason: AuthRefusal) => {
        this.refuse(reason, given?.user ?? "");
        if (reason === "auth_busy") res.status(429).set("Retry-After", "1").type("text/plain").send("Too many login attempts at once; try again.\n");
        else res.status(401).set("WWW-Authenticate", 'Basic realm="kissbot-bridge", charset="UTF-8"').type("text/plain").send("Unauthorized\n");
      };
      if (given === undefined) return deny("unauthorized");
      const hash = users.get(given.user);
      const key = digest(given.user, given.password, hash ?? "");
      const cached = this.cache.get(given.user);
      if (hash !== undefined && cached !== undefined && timingSafeEqual(cached, key)) return next();
      if (this.checking >= MAX_CHECKS) return deny("auth_busy");
      this.checking++;
      bcrypt.compare(given.password, hash ?? DUMMY_HASH).then(
        (ok) => {
          this.checking--;
          if (!ok || hash === undefined) return deny("unauthorized");
          this.remember(given.user, key);
          next();
        },
        (err: unknown) => {
          this.checking--;
          next(err);
        },
      );
    };
  }

  private remember(user: string, key: Buffer): void {
    this.cache.delete(user);
    this.cache.set(user, key);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}

function credentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
