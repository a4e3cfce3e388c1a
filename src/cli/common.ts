import { FLAGS } from "../config/flags.js";

/** Where a subcommand writes: the process's streams, or a test's. */
export type Out = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

/** The database a subcommand reads or writes: --db, else the bridge's variable, else its default. */
export function dbPath(values: { db?: string | boolean | undefined }, env: NodeJS.ProcessEnv): string {
  return typeof values.db === "string" ? values.db : (env[FLAGS.db.env] ?? FLAGS.db.default);
}
