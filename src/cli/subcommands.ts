import { parseArgs } from "node:util";
import { FLAGS } from "../config/flags.js";
import { botsFromDatabase, usageByDayFromDatabase, usageFromDatabase } from "../store/read/queries.js";
import { isUsageGroup, parseSince, USAGE_GROUPS, type UsageView } from "../read-model/usage.js";
import type { BotView } from "../read-model/bots.js";
import { duration, printable, renderTable, useColor, type Color, type Column } from "./table.js";
import { MIB } from "../util/units.js";
import { bridgeUrl, COMMON, dbPath, fromBridge, notReachable, readDatabase, timeZoneOption, type Out } from "./common.js";

const STATUS_COLORS = new Map<string, Color>([["online", "green"], ["stale", "yellow"], ["dead", "red"], ["offline", "grey"]]);

const num = (n: number | null, digits = 0) => (n === null ? "-" : n.toFixed(digits));

/** `kissbot-bridge status [--json] [--url URL] [--db PATH]` */
export async function statusCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseArgs({ args: argv, options: COMMON, strict: true });
  if (values.help) {
    out.stdout.write("Usage: kissbot-bridge status [--json] [--url http://HOST:PORT] [--listen HOST:PORT] [--db PATH]\n\nBots as the running bridge sees them, else as the database last recorded them.\n");
    return 0;
  }
  const url = bridgeUrl(values, env);
  let result = await fromBridge<{ source: string; bots: BotView[] }>(`${url}/api/bots`);
  if (result === undefined) {
    const path = dbPath(values, env);
    try {
      result = { source: "database", bots: readDatabase(path, (db) => botsFromDatabase(db, Date.now())) };
    } catch (err) {
      out.stderr.write(notReachable(url, path, err));
      return 1;
    }
  }
  if (values.json) {
    out.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  if (result.source === "database") {
    const newest = Math.max(...result.bots.map((b) => (b.last_heartbeat === null ? 0 : Date.parse(b.last_heartbeat))), 0);
    const age = newest === 0 ? "" : `, last updated ${duration((Date.now() - newest) / 1000)} ago`;
    out.stdout.write(`The bridge is not answering at ${url}; last known state from the database ${dbPath(values, env)}${age}. Uptime is shown only for bots that were running:\n`);
  }
  out.stdout.write(
    renderTable(
      result.bots,
      [
        { title: "CHANNEL", value: (b) => b.channel },
        { title: "STATUS", value: (b) => b.status, color: (b) => STATUS_COLORS.get(b.status) },
        { title: "PID", value: (b) => String(b.pid), right: true },
        { title: "UPTIME", value: (b) => duration(b.uptime_seconds), right: true },
        { title: "HEARTBEAT", value: (b) => (b.heartbeat_age_seconds === null ? "-" : `${duration(b.heartbeat_age_seconds)} ago`), right: true },
        { title: "CPU", value: (b) => (b.cpu_ratio === null ? "-" : `${(b.cpu_ratio * 100).toFixed(1)}%`), right: true },
        { title: "RSS", value: (b) => (b.rss_bytes === null ? "-" : `${(b.rss_bytes / MIB).toFixed(1)} MB`), right: true },
        { title: "FEATURES", value: (b) => (b.features === null ? "?" : Object.entries(b.features).filter(([, on]) => on).map(([f]) => f).join(",") || "-") },
        ...(result.bots.some((b) => b.snooze != null) ? [{ title: "SNOOZED", value: (b: BotView) => (b.snooze == null ? "-" : `until ${new Date(b.snooze.until).toLocaleString()}${b.snooze.reason === "" ? "" : ` (${b.snooze.reason})`}`) }] : []),
      ],
      useColor(out.stdout),
    ),
  );
  return 0;
}

/** `kissbot-bridge usage [--since 24h|7d|30d] [--by channel|model|feature|day] [--timezone ZONE] [--json|--csv]` */
export async function usageCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...COMMON, since: { type: "string", default: "24h" }, by: { type: "string", default: "model" }, timezone: { type: "string" }, csv: { type: "boolean" } },
    strict: true,
  });
  if (values.help) {
    out.stdout.write(
      [
        "Usage: kissbot-bridge usage [--since 24h|7d|30d] [--by channel|model|feature|day] [--timezone ZONE] [--json | --csv] [--url URL] [--db PATH]",
        "",
        "LLM calls, tokens, latency and cost from the database. --by day cuts days at midnight in --timezone",
        `(an IANA zone; default ${FLAGS.timezone.env}, else UTC). --csv prints RFC 4180 CSV for a spreadsheet.`,
        "",
      ].join("\n"),
    );
    return 0;
  }
  const sinceMs = parseSince(values.since);
  if (sinceMs === undefined) {
    out.stderr.write(`kissbot-bridge: invalid --since: expected 30m, 24h, 7d…, got ${JSON.stringify(values.since)}\n`);
    return 2;
  }
  const by = values.by;
  if (!isUsageGroup(by) && by !== "day") {
    out.stderr.write(`kissbot-bridge: invalid --by: expected one of ${USAGE_GROUPS.join(", ")}, day, got ${JSON.stringify(by)}\n`);
    return 2;
  }
  const zone = timeZoneOption(values.timezone, env);
  if ("error" in zone) {
    out.stderr.write(`kissbot-bridge: ${zone.error}\n`);
    return 2;
  }
  const timeZone = zone.zone;
  if (values.json && values.csv) {
    out.stderr.write("kissbot-bridge: --json and --csv exclude each other\n");
    return 2;
  }
  // Through the running bridge when it answers (it commits what it has queued first), else the file.
  const query = `since=${encodeURIComponent(values.since)}&by=${by}${by === "day" ? `&timezone=${encodeURIComponent(timeZone)}` : ""}`;
  let rows = (await fromBridge<{ rows: UsageView[] }>(`${bridgeUrl(values, env)}/api/usage?${query}`))?.rows;
  if (rows === undefined) {
    const path = dbPath(values, env);
    try {
      rows = readDatabase(path, (db) => (by === "day" ? usageByDayFromDatabase(db, Date.now() - sinceMs, Date.now(), timeZone) : usageFromDatabase(db, Date.now() - sinceMs, by)));
    } catch (err) {
      out.stderr.write(notReachable(bridgeUrl(values, env), path, err));
      return 1;
    }
  }
  if (values.json) {
    out.stdout.write(`${JSON.stringify({ since: values.since, by, ...(by === "day" ? { timezone: timeZone } : {}), rows }, null, 2)}\n`);
    return 0;
  }
  const columns: Column<UsageView>[] = [
    { title: by.toUpperCase(), value: (r) => r.key },
    { title: "CALLS", value: (r) => String(r.calls), right: true },
    { title: "TOKENS IN", value: (r) => String(r.tokens_in), right: true },
    { title: "TOKENS OUT", value: (r) => String(r.tokens_out), right: true },
    { title: "MEAN MS", value: (r) => num(r.mean_latency_ms), right: true },
    { title: "P50 MS", value: (r) => num(r.p50_latency_ms), right: true },
    { title: "P95 MS", value: (r) => num(r.p95_latency_ms), right: true },
    { title: "COST USD", value: (r) => (r.cost_usd === null ? "-" : r.cost_usd.toFixed(4)), right: true },
  ];
  if (values.csv) {
    // Full precision and empty cells for unknown values: the figures are for a spreadsheet, not a screen.
    const csvColumns: [string, (r: UsageView) => string][] = [
      [by, (r) => r.key],
      ["calls", (r) => String(r.calls)],
      ["tokens_in", (r) => String(r.tokens_in)],
      ["tokens_out", (r) => String(r.tokens_out)],
      ["mean_latency_ms", (r) => (r.mean_latency_ms === null ? "" : String(r.mean_latency_ms))],
      ["p50_latency_ms", (r) => (r.p50_latency_ms === null ? "" : String(r.p50_latency_ms))],
      ["p95_latency_ms", (r) => (r.p95_latency_ms === null ? "" : String(r.p95_latency_ms))],
      ["cost_usd", (r) => (r.cost_usd === null ? "" : String(r.cost_usd))],
    ];
    const lines = [csvColumns.map(([h]) => csvField(h)), ...rows.map((r) => csvColumns.map(([, v]) => csvField(v(r))))];
    out.stdout.write(lines.map((l) => l.join(",")).join("\r\n") + "\r\n");
    return 0;
  }
  out.stdout.write(renderTable(rows, columns, useColor(out.stdout)));
  return 0;
}

/**
 * One CSV field (RFC 4180), with control characters escaped as in the tables. A name a bot sent
 * that starts like a formula (= + - @) gets a leading ' so a spreadsheet shows it as text.
 */
function csvField(text: string): string {
  const p = printable(text);
  const t = /^[=+\-@]/.test(p) ? `'${p}` : p;
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}
