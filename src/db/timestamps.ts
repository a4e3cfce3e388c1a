/**
 * Timestamps as KissBot writes them (Python's `datetime.now(timezone.utc).isoformat()`):
 * "2026-11-26T07:18:13.146000+00:00". The bots' own llm_usage rows use this form, so the
 * bridge's rows sort and compare with theirs.
 */
export function toSqlTime(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "000+00:00");
}

/** Reads KissBot's form, SQLite's "YYYY-MM-DD HH:MM:SS[.SSS]" (UTC) and any ISO 8601 with an offset. */
export function fromSqlTime(text: string | null): number | null {
  if (text === null) return null;
  const iso = text.replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(`${iso}${/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? "" : "Z"}`);
  return Number.isNaN(ms) ? null : ms;
}
