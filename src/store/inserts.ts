import type { Database, Statement } from "better-sqlite3";
import { columnsOf } from "./schema.js";

/**
 * An INSERT naming `columns`, plus any other NOT NULL column without a default that the table
 * has (a newer KissBot may add one), given an empty value of its type, so the bridge's writes
 * never fail on a constraint it did not know about. `constants` are columns given as SQL literals
 * (the same for every row, so not bound row by row).
 */
export function insertInto(db: Database, table: string, columns: readonly string[], suffix = "", constants: Readonly<Record<string, string>> = {}): Statement {
  const fixed = Object.keys(constants);
  const extra = columnsOf(db, table).filter((c) => c.hidden === 0 && c.notnull === 1 && c.dflt_value === null && c.pk === 0 && !columns.includes(c.name) && !fixed.includes(c.name));
  const names = [...columns, ...fixed, ...extra.map((c) => `"${c.name.replace(/"/g, '""')}"`)];
  const values = [...columns.map(() => "?"), ...fixed.map((name) => constants[name]!), ...extra.map((c) => (/INT|REAL|FLOA|DOUB|NUM/i.test(c.type) ? "0" : "''"))];
  return db.prepare(`INSERT INTO ${table} (${names.join(", ")}) VALUES (${values.join(", ")})${suffix}`);
}
