import { localDay } from "../calendar/period.js";
import type { DigestRow } from "./digest-queries.js";
import type { DigestWindow } from "./schedule.js";

/** A digest as a message: a title, a fixed-width table, and what the figures mean. */
export interface DigestText {
  title: string;
  table: string[];
  note: string;
}

/** Channels one digest lists at most; the rest are counted in a last line. */
export const MAX_DIGEST_ROWS = 200;

const pct = (r: number | null) => (r === null ? "-" : `${(Math.floor(r * 10_000) / 100).toFixed(2)}%`);
const usd = (x: number | null) => (x === null ? "-" : `$${x.toFixed(2)}`);
const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n));
function span(seconds: number): string {
  const s = Math.round(seconds);
  if (s === 0) return "-";
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
/** Text from bots inside a code block: no backtick can close it, no control character moves the cursor. */
const plain = (s: string) => s.replace(/[`\u0000-\u001f\u007f]/g, "?");

/**
 * The digest's text. `budget` gives a channel's monthly LLM budget (--budgets), or null.
 * Availability is compared with the period before; spend is the period's, beside the month's budget.
 */
export function digestText(w: DigestWindow, rows: readonly DigestRow[], budget: (channel: string) => number | null, timeZone: string): DigestText {
  const last = localDay(w.toMs - 1, timeZone);
  const first = localDay(w.fromMs, timeZone);
  const title = w.period === "weekly" ? `KissBot weekly digest: ${first} to ${last}` : `KissBot monthly digest: ${first.slice(0, 7)}`;
  const header = ["CHANNEL", "UPTIME", "BEFORE", "INCIDENTS", "LONGEST", "LLM CALLS", "TOKENS", "SPEND", "BUDGET/MONTH", "UNPRICED"];
  const shown = rows.slice(0, MAX_DIGEST_ROWS);
  const cells = shown.map((r) => [plain(r.channel), pct(r.availability), pct(r.previous_availability), String(r.incidents), span(r.longest_down_seconds), count(r.calls), count(r.tokens), usd(r.cost_usd), usd(budget(r.channel)), String(r.unpriced_calls)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ").trimEnd();
  const table = [line(header), ...cells.map(line)];
  if (rows.length > shown.length) table.push(`… and ${rows.length - shown.length} more channels`);
  if (rows.length === 0) table.push("No bot was up, down, snoozed or calling an LLM in this period.");
  const total = rows.reduce((n, r) => n + r.cost_usd, 0);
  const unpriced = rows.reduce((n, r) => n + r.unpriced_calls, 0);
  const note = [
    `${rows.length} channel${rows.length === 1 ? "" : "s"}; LLM spend ${usd(total)}${unpriced > 0 ? ` and ${unpriced} call${unpriced === 1 ? "" : "s"} with no price (cost unknown)` : ""}.`,
    `UPTIME is up ÷ (up + down) in ${timeZone} time; time stopped, snoozed or with no bridge running counts neither way. BEFORE is the ${w.period === "weekly" ? "week" : "month"} before.`,
  ].join(" ");
  return { title, table, note };
}

/** The digest as plain text (`notify digest --preview`, and the e-mail-like targets). */
export function digestPlain(d: DigestText): string {
  return [d.title, "", ...d.table, "", d.note, ""].join("\n");
}
