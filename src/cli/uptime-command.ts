import { parseArgs } from "node:util";
import { FLAGS } from "../config/flags.js";
import { availabilityFromDatabase, type AvailabilityView } from "../record/record-queries.js";
import type { ChannelAvailability } from "../record/timeline.js";
import { resolvePeriod } from "../read-model/periods.js";
import { duration, renderTable, useColor, type Color } from "./table.js";
import { bridgeUrl, COMMON, dbPath, fromBridge, notReachable, readDatabase, timeZoneOption, type Out } from "./common.js";

const HELP = [
  "Usage: kissbot-bridge uptime [CHANNEL…] [--since 24h|7d|30d | --month YYYY-MM] [--timezone ZONE] [--json] [--url URL] [--db PATH]",
  "",
  "How reliable each bot has been: availability (up ÷ (up + down)), down time, incidents, the longest",
  "one and the mean time to recover, from the running bridge or, when none answers, from the database.",
  "Time while no bridge ran is unknown, and time stopped or snoozed is neither up nor down.",
  `--month cuts the calendar month at midnight in --timezone (default ${FLAGS.timezone.env}, else UTC). Default: --since 30d.`,
  "",
].join("\n");

const pct = (r: number | null) => (r === null ? "-" : `${(Math.floor(r * 100_000) / 1000).toFixed(3)}%`);

function colorOf(r: ChannelAvailability): Color | undefined {
  if (r.availability === null) return "grey";
  return r.availability >= 0.99 ? "green" : r.availability >= 0.95 ? "yellow" : "red";
}

/** `kissbot-bridge uptime [CHANNEL…] [--since 24h|7d|30d | --month YYYY-MM] [--json]` */
export async function uptimeCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON, since: { type: "string" }, month: { type: "string" }, timezone: { type: "string" } }, strict: true, allowPositionals: true });
  if (values.help) {
    out.stdout.write(HELP);
    return 0;
  }
  const zone = timeZoneOption(values.timezone, env);
  if ("error" in zone) {
    out.stderr.write(`kissbot-bridge: ${zone.error}\n`);
    return 2;
  }
  const timeZone = zone.zone;
  const period = resolvePeriod({ since: values.since, month: values.month }, Date.now(), timeZone);
  if ("error" in period) {
    out.stderr.write(`kissbot-bridge: ${period.error.replace(/^(since|month)/, "--$1")}\n`);
    return 2;
  }
  const channels = positionals.length === 0 ? undefined : positionals;
  const query = new URLSearchParams({ timezone: timeZone, ...(values.month !== undefined ? { month: values.month } : { since: values.since ?? "30d" }) });
  for (const c of channels ?? []) query.append("channel", c);
  const url = bridgeUrl(values, env);
  let view = await fromBridge<AvailabilityView>(`${url}/api/v1/availability?${query.toString()}`);
  let source = "bridge";
  if (view === undefined) {
    const path = dbPath(values, env);
    try {
      view = readDatabase(path, (db) => availabilityFromDatabase(db, { fromMs: period.fromMs, toMs: period.toMs, nowMs: Date.now(), live: null, channels }));
      source = "database";
    } catch (err) {
      out.stderr.write(notReachable(url, path, err));
      return 1;
    }
  }
  if (values.json) {
    out.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  }
  const from = new Date(view.from).toLocaleString("sv-SE", { timeZone });
  const to = new Date(view.to).toLocaleString("sv-SE", { timeZone });
  out.stdout.write(`Availability from ${from} to ${to} (${timeZone}), from the ${source === "bridge" ? `bridge at ${url}` : `database ${dbPath(values, env)} (no bridge answered)`}:\n`);
  if (view.channels.length === 0) {
    out.stdout.write("No bot was up, down or snoozed in this period.\n");
    return 0;
  }
  out.stdout.write(
    renderTable(
      view.channels,
      [
        { title: "CHANNEL", value: (r) => r.channel },
        { title: "AVAILABILITY", value: (r) => pct(r.availability), right: true, color: colorOf },
        { title: "DOWN", value: (r) => duration(r.down_seconds), right: true },
        { title: "INCIDENTS", value: (r) => String(r.incidents), right: true },
        { title: "LONGEST", value: (r) => (r.incidents === 0 ? "-" : duration(r.longest_down_seconds)), right: true },
        { title: "MTTR", value: (r) => duration(r.mean_time_to_recover_seconds), right: true },
        { title: "STOPPED", value: (r) => duration(r.stopped_seconds), right: true },
        { title: "SNOOZED", value: (r) => duration(r.snoozed_seconds), right: true },
        { title: "UNKNOWN", value: (r) => duration(r.unknown_seconds), right: true },
      ],
      useColor(out.stdout),
    ),
  );
  return 0;
}
