import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { WorkerChannel } from "../util/worker-channel.js";
import { CheckQueue } from "./check-queue.js";
import { after } from "../util/guard.js";

/** Results of bcrypt kept, so a scrape every 15 s does not pay a bcrypt check (~0.1 s of CPU) each time. */
const CACHE_SIZE = 256;
/** Failed (user, password, hash) triples kept: the same wrong password again costs no bcrypt. */
const FAILED_SIZE = 4096;
/** Checks waiting their turn, per client address and in all; more are answered 429. */
const QUEUED_PER_ADDRESS = 2;
const QUEUED_TOTAL = 64;
/** Wrong or unchecked credentials are answered this late (the same for each: it tells nothing). */
const REFUSAL_DELAY_MS = 1000;
/**
 * Compared against when the user does not exist, so an unknown user takes as long as a wrong
 * password. Written out (cost 10, as hash-password makes them): hashing it at load cost every
 * start about 90 ms of CPU, web config or not.
 */
const DUMMY_HASH = "$2b$10$GdyyNWQZTl./jFvFQx4IDekQc..Id5y4VQRQQTVKczlQZuGFIfjBa";

export type AuthRefusal = "unauthorized" | "auth_busy" | "client_cert";

const digest = (...parts: string[]) => createHash("sha256").update(parts.join("\u0000")).digest();

/** Compares a password with a bcrypt hash; resolves true when they match. */
export type PasswordCheck = (password: string, hash: string) => Promise<boolean>;

let thread: WorkerChannel<{ password: string; hash: string }, boolean> | undefined;

/** The bcrypt thread (bcrypt-worker.ts), started with the first check that needs it. */
export const threadedCheck: PasswordCheck = (password, hash) => {
  thread ??= new WorkerChannel({ url: new URL("./bcrypt-worker.js", import.meta.url), workerData: null, component: "http" });
  return thread.request({ password, hash });
};

/** Ends the bcrypt thread, if one was started (the next check starts another). */
export async function closePasswordThread(): Promise<void> {
  const t = thread;
  thread = undefined;
  await t?.close();
}

/**
 * HTTP basic auth against bcrypt hashes (the web config's basic_auth_users), checked in
 * constant time: unknown users are compared against a dummy hash, and cached successes are
 * found by a SHA-256 of user, password and hash compared with timingSafeEqual. Checks run on
 * the bcrypt thread, never the one that ingests and serves, one at a time, taken in turn from
 * each client address (check-queue.ts): a flood cannot keep a scraper's first check waiting;
 * past the queue's bounds a request is answered 429. A failed triple is remembered, so the same
 * wrong password again costs no bcrypt; a new guess always does. Every refusal of given
 * credentials is answered a second late, the same for each: a flooder's loop slows to one try a
 * second per connection, and the timing tells nothing.
 */
export class BasicAuth {
  private readonly cache = new Map<string, Buffer>();
  private readonly failed = new Set<string>();
  private readonly queue = new CheckQueue(QUEUED_PER_ADDRESS, QUEUED_TOTAL);

  constructor(
    private readonly users: () => ReadonlyMap<string, string>,
    private readonly refuse: (reason: AuthRefusal, user: string) => void,
    private readonly check: PasswordCheck = threadedCheck,
    private readonly penaltyMs = REFUSAL_DELAY_MS,
  ) {}

  /** Express middleware; paths for which `open` is true need no credentials. */
  middleware(open: (path: string) => boolean) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const users = this.users();
      if (users.size === 0 || open(req.path)) return next();
      const given = credentials(req.headers.authorization);
      const answer = (reason: AuthRefusal) => {
        if (res.destroyed) return;
        if (reason === "auth_busy") res.status(429).set("Retry-After", "1").type("text/plain").send("Too many login attempts at once; try again.\n");
        else res.status(401).set("WWW-Authenticate", 'Basic realm="kissbot-bridge", charset="UTF-8"').type("text/plain").send("Unauthorized\n");
      };
      const deny = (reason: AuthRefusal) => {
        this.refuse(reason, given?.user ?? "");
        // Credentials that failed (or could not be checked) are answered a second late: a
        // flooder's loop turns once a second, however fast it is answered. A request with no
        // credentials (a browser's first, for the login prompt) is answered at once.
        if (given === undefined) answer(reason);
        else after("http", this.penaltyMs, () => answer(reason));
      };
      if (given === undefined) return deny("unauthorized");
      const hash = users.get(given.user);
      const key = digest(given.user, given.password, hash ?? "");
      const cached = this.cache.get(given.user);
      if (hash !== undefined && cached !== undefined && timingSafeEqual(cached, key)) return next();
      const hex = key.toString("hex");
      // Known to fail: answered as a checked one is, a second late, without bcrypt.
      if (this.failed.has(hex)) return deny("unauthorized");
      const queued = this.queue.offer(req.socket.remoteAddress ?? "", () =>
        this.check(given.password, hash ?? DUMMY_HASH).then(
          (ok) => {
            if (!ok || hash === undefined) {
              this.forget(hex);
              return deny("unauthorized");
            }
            this.remember(given.user, key);
            next();
          },
          (err: unknown) => next(err),
        ),
      );
      if (!queued) deny("auth_busy");
    };
  }

  private forget(hex: string): void {
    this.failed.add(hex);
    if (this.failed.size > FAILED_SIZE) this.failed.delete(this.failed.values().next().value!);
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
