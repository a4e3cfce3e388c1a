import type { Database, Statement } from "better-sqlite3";
import { columnsOf } from "../../db/schema.js";

const NO_CONSTANTS: ReadonlyMap<string, string> = new Map();

/**
 * An INSERT naming `columns`, plus any other NOT NULL column without a default that the table
 * has (a newer KissBot may add one), given an empty value of its type, so the bridge's writes
 * never fail on a constraint it did not know about. `constants` are columns given as SQL literals
 * (the same for every row, so not bound row by row).
 */
export function insertInto(db: Database, table: string, columns: readonly string[], suffix = "", constants: ReadonlyMap<string, string> = NO_CONSTANTS): Statement {
  const { names, fixed } = target(db, table, columns, constants);
  return db.prepare(`INSERT INTO ${table} (${names.join(", ")}) VALUES (${[...columns.map(() => "?"), ...fixed].join(", ")})${suffix}`);
}

/**
 * The same INSERT with its rows selected from `source`, a table (or virtual table) with the
 * columns `columns`: many rows in one statement.
 */
export function insertSelect(db: Database, table: string, columns: readonly string[], source: string, constants: ReadonlyMap<string, string> = NO_CONSTANTS): Statement {
  const { names, fixed } = target(db, table, columns, constants);
  return db.prepare(`INSERT INTO ${table} (${names.join(", ")}) SELECT ${[...columns, ...fixed].join(", ")} FROM ${source}`);
}

/** The columns an INSERT names, and the SQL values of those after `columns` (constants, then empty values). */
function target(db: Database, table: string, columns: readonly string[], constants: ReadonlyMap<string, string>): { names: string[]; fixed: string[] } {
  const constantNames = [...constants.keys()];
  const extra = columnsOf(db, table).filter((c) => c.hidden === 0 && c.notnull === 1 && c.dflt_value === null && c.pk === 0 && !columns.includes(c.name) && !constantNames.includes(c.name));
  return {
    names: [...columns, ...constantNames, ...extra.map((c) => `"${c.name.replace(/"/g, '""')}"`)],
    fixed: [...constants.values(), ...extra.map((c) => (/INT|REAL|FLOA|DOUB|NUM/i.test(c.type) ? "0" : "''"))],
  };
}
