import { existsSync } from "node:fs";
import { FLAGS } from "../config/flags.js";
import { openReadOnly } from "../db/database.js";

/** Where a subcommand writes: the process's streams, or a test's. */
export type Out = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

/** The database a subcommand reads or writes: --db, else the bridge's variable, else its default. */
export function dbPath(values: { db?: string | boolean | undefined }, env: NodeJS.ProcessEnv): string {
  return typeof values.db === "string" ? values.db : (env[FLAGS.db.env] ?? FLAGS.db.default);
}

/** --timezone, else the bridge's variable, else UTC, by its canonical name; or what is wrong with it. */
export function timeZoneOption(given: string | undefined, env: NodeJS.ProcessEnv): { zone: string } | { error: string } {
  try {
    return { zone: FLAGS.timezone.parse(given ?? env[FLAGS.timezone.env] ?? FLAGS.timezone.default) };
  } catch (err) {
    return { error: `invalid --timezone: ${(err as Error).message}` };
  }
}

/** Where the running bridge answers: --url, else the address --listen (or its variable) names. */
export function bridgeUrl(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): string {
  if (typeof values["url"] === "string") return values["url"].replace(/\/$/, "");
  const listen = FLAGS.listen.parse(typeof values["listen"] === "string" ? values["listen"] : (env[FLAGS.listen.env] ?? FLAGS.listen.default));
  const host = listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}`;
}

export async function fromBridge<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the database file directly (the bridge is not answering), read-only, and closes it. */
export function readDatabase<T>(path: string, read: (db: ReturnType<typeof openReadOnly>) => T): T {
  const db = openReadOnly(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** What was tried, why it failed, and the flags that point elsewhere. */
export function notReachable(url: string, path: string, err: unknown): string {
  const missing = !existsSync(path);
  const why = missing ? "does not exist" : `cannot be read (${(err as Error).message})`;
  return [
    `kissbot-bridge: no bridge answered at ${url}, and the database ${path} ${why}.`,
    "  If the bridge runs on another address, pass --url http://HOST:PORT (or --listen HOST:PORT, as given to the bridge).",
    "  To read its database directly, pass --db PATH (the bridge's --db; KissBot keeps kissbot_monitor.db in its root folder).",
    "",
  ].join("\n");
}

export const COMMON = { json: { type: "boolean" }, url: { type: "string" }, listen: { type: "string" }, db: { type: "string" }, help: { type: "boolean" } } as const;

