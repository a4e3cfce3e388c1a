/**
 * Timestamps as SQLite writes CURRENT_TIMESTAMP (UTC, "YYYY-MM-DD HH:MM:SS"), with milliseconds,
 * so SQLite's date functions and the original Monitor's queries understand them.
 */
export function toSqlTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

export function fromSqlTime(text: string | null): number | null {
  if (text === null) return null;
  const ms = Date.parse(`${text.replace(" ", "T")}${/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? "" : "Z"}`);
  return Number.isNaN(ms) ? null : ms;
}
