import { parseArgs } from "node:util";
import type { Database } from "better-sqlite3";
import { FLAGS } from "../config/flags.js";
import { duration as parseDuration } from "../config/parsers.js";
import { openForBridgeTables } from "../db/database.js";
import { activeSnoozes, removeSnooze, setSnooze } from "../notify/snoozes.js";
import { parseTargets, type NotifyTarget } from "../notify/targets.js";
import { allTargets, loadNotifyConfig } from "../notify/notify-config.js";
import type { NotifyEvent } from "../notify/routes.js";
import { render } from "../notify/formats.js";
import { send } from "../notify/send.js";
import { randomUUID } from "node:crypto";
import { printable, renderTable, useColor } from "./table.js";
import { dbPath, readDatabase, timeZoneOption, type Out } from "./common.js";
import type { Notice } from "../notify/alert.js";
import { latestDigest } from "../digest/schedule.js";
import { digestFromDatabase } from "../digest/digest-queries.js";
import { digestPlain, digestText } from "../digest/digest-text.js";
import { channelLimits, type BudgetTable } from "../spend/budget-file.js";

/** A snooze is a planned outage: a year at most. */
const MAX_SNOOZE_MS = 366 * 86_400_000;

/** The bridge's database, opened to read or write snoozes; an error says which --db to pass. */
function withDatabase<T>(path: string, fn: (db: Database) => T): T {
  let db: Database;
  try {
    db = openForBridgeTables(path);
  } catch (err) {
    throw new Error(`cannot open the database ${path} (${(err as Error).message}); pass --db PATH, the bridge's --db`);
  }
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const when = (ms: number) => new Date(ms).toLocaleString();

/**
 * `kissbot-bridge snooze CHANNEL DURATION [--reason TEXT]`, `snooze --list`: written into the
 * database the running bridge shares (it reads snoozes every second), so no HTTP endpoint writes.
 */
export async function snoozeCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { reason: { type: "string", default: "" }, list: { type: "boolean" }, json: { type: "boolean" }, db: { type: "string" }, help: { type: "boolean" } }, allowPositionals: true, strict: true });
  if (values.help) {
    out.stdout.write(
      [
        "Usage: kissbot-bridge snooze CHANNEL DURATION [--reason TEXT] [--db PATH]",
        "       kissbot-bridge snooze --list [--json] [--db PATH]",
        "",
        "Silences a bot's alerts (the bridge's notifications and, through kissbot_bot_snoozed_until_seconds, the",
        "shipped Prometheus rules) for DURATION (90s, 30m, 2h, 1d), for a planned outage. It ends by itself;",
        "`kissbot-bridge unsnooze CHANNEL` ends it now. The running bridge sees it within a second.",
        "",
      ].join("\n"),
    );
    return 0;
  }
  const path = dbPath(values, env);
  const now = Date.now();
  if (values.list) {
    const list = withDatabase(path, (db) => activeSnoozes(db, now));
    if (values.json) out.stdout.write(`${JSON.stringify(list.map((s) => ({ channel: s.channel, until: new Date(s.untilMs).toISOString(), reason: s.reason, set_at: new Date(s.setAtMs).toISOString() })), null, 2)}\n`);
    else if (list.length === 0) out.stdout.write("No bot is snoozed.\n");
    else out.stdout.write(renderTable(list, [{ title: "CHANNEL", value: (s) => s.channel }, { title: "UNTIL", value: (s) => when(s.untilMs) }, { title: "REASON", value: (s) => s.reason || "-" }], useColor(out.stdout)));
    return 0;
  }
  const [channel, howLong, ...extra] = positionals;
  if (channel === undefined || howLong === undefined || extra.length > 0 || channel === "") {
    out.stderr.write("kissbot-bridge: usage: kissbot-bridge snooze CHANNEL DURATION [--reason TEXT] (or --list)\n");
    return 2;
  }
  let ms: number;
  try {
    ms = parseDuration(1000, MAX_SNOOZE_MS)(howLong);
  } catch (err) {
    out.stderr.write(`kissbot-bridge: invalid DURATION: ${(err as Error).message}\n`);
    return 2;
  }
  withDatabase(path, (db) => setSnooze(db, { channel, untilMs: now + ms, reason: values.reason, setAtMs: now }));
  out.stdout.write(`Snoozed ${printable(channel)} until ${when(now + ms)}${values.reason === "" ? "" : ` (${printable(values.reason)})`}. The running bridge sees it within a second.\n`);
  return 0;
}

/** `kissbot-bridge unsnooze CHANNEL` */
export async function unsnoozeCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { db: { type: "string" }, help: { type: "boolean" } }, allowPositionals: true, strict: true });
  if (values.help) {
    out.stdout.write("Usage: kissbot-bridge unsnooze CHANNEL [--db PATH]\n\nEnds a bot's snooze now: its alerts are on again.\n");
    return 0;
  }
  if (positionals.length !== 1) {
    out.stderr.write("kissbot-bridge: usage: kissbot-bridge unsnooze CHANNEL\n");
    return 2;
  }
  const channel = positionals[0]!;
  const removed = withDatabase(dbPath(values, env), (db) => removeSnooze(db, channel, Date.now()));
  out.stdout.write(removed ? `${printable(channel)} is no longer snoozed.\n` : `${printable(channel)} was not snoozed.\n`);
  return 0;
}

/**
 * The targets of --notify (else KISSBOT_NOTIFY) and of --notify-config (else its variable), those
 * whose route takes `event`; with `name`, that one alone, whatever its route. An error message
 * when none or invalid.
 */
function targetsOf(values: { notify?: string[] | undefined; "notify-config"?: string | undefined; target?: string | undefined }, env: NodeJS.ProcessEnv, event: NotifyEvent): NotifyTarget[] | string {
  let targets: NotifyTarget[];
  try {
    targets = parseTargets(values.notify?.join(",") ?? env[FLAGS.notify.env] ?? "");
  } catch (err) {
    return `invalid --notify: ${(err as Error).message}`;
  }
  const file = (values["notify-config"] ?? env[FLAGS.notifyConfig.env] ?? "").trim();
  if (file !== "") {
    try {
      targets = allTargets(targets, loadNotifyConfig(file));
    } catch (err) {
      return `invalid --notify-config: ${(err as Error).message}`;
    }
  }
  if (targets.length === 0) return "no target: pass --notify KIND=URL or --notify-config FILE, or set KISSBOT_NOTIFY";
  const name = values.target;
  if (name !== undefined) {
    const chosen = targets.filter((t) => t.label === name || t.name === name);
    return chosen.length > 0 ? chosen : `no target named ${JSON.stringify(name)}; the targets are: ${targets.map((t) => t.label ?? t.name).join(", ")}`;
  }
  const routed = targets.filter((t) => t.route?.events == null || t.route.events.has(event));
  return routed.length > 0 ? routed : `no target takes ${event} messages (their events leave it out); name one with --target`;
}

/** Posts one notice to every target and prints each answer; true if every one took it. */
async function sendToAll(targets: NotifyTarget[], notice: Notice, userAgent: string, out: Out): Promise<boolean> {
  let ok = true;
  for (const t of targets) {
    const r = await send(t, render(t.kind, notice), randomUUID(), 10_000, userAgent);
    const good = r.status >= 200 && r.status < 300;
    ok &&= good;
    const answer = r.status === 0 ? `no answer: ${r.text}` : t.kind === "email" ? printable(r.text.trim()) : `HTTP ${r.status}${r.text.trim() === "" ? "" : ` ${printable(r.text.trim())}`}`;
    out.stdout.write(`${good ? "ok  " : "FAIL"} ${t.name}: ${answer}\n`);
  }
  return ok;
}

const NOTIFY_USAGE = [
  "Usage: kissbot-bridge notify test [--notify KIND=URL]… [--notify-config FILE] [--target NAME]",
  "       kissbot-bridge notify digest --preview [--period last-week|last-month] [--timezone ZONE] [--budgets FILE] [--db PATH]",
  "       kissbot-bridge notify digest --send [--period last-week|last-month] [--notify KIND=URL]… [--notify-config FILE] [same flags]",
  "",
  "test sends a test message to every target (--notify, else KISSBOT_NOTIFY, and the routing file's that take",
  "test messages), or to the one --target names, and prints what each server answered.",
  "digest --preview prints the digest of the last complete week or month from the database; --send sends it now",
  "(besides the one the bridge sends by itself with --notify-digest).",
  "",
].join("\n");

/** `kissbot-bridge notify test|digest …` */
export async function notifyCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { notify: { type: "string", multiple: true }, "notify-config": { type: "string" }, target: { type: "string" }, "public-url": { type: "string" }, help: { type: "boolean" }, preview: { type: "boolean" }, send: { type: "boolean" }, period: { type: "string", default: "last-week" }, timezone: { type: "string" }, budgets: { type: "string" }, db: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const verb = positionals[0];
  if (values.help || (verb !== "test" && verb !== "digest") || positionals.length !== 1) {
    out[values.help ? "stdout" : "stderr"].write(NOTIFY_USAGE);
    return values.help ? 0 : 2;
  }
  const publicUrl = (values["public-url"] ?? env[FLAGS.publicUrl.env] ?? "").replace(/\/+$/, "") || "http://127.0.0.1:9877";
  if (verb === "digest") return digestCommand(values, env, publicUrl, out);
  const targets = targetsOf(values, env, "test");
  if (typeof targets === "string") {
    out.stderr.write(`kissbot-bridge: ${targets}\n`);
    return 2;
  }
  const now = Date.now();
  const notice: Notice = {
    publicUrl,
    alerts: [{ name: "KissBotBridgeTest", channel: "test", severity: "none", status: "firing", summary: "Test message from kissbot-bridge", description: "If you can read this, kissbot-bridge can reach this channel: bots that die or hang will be reported here.", startsAt: now, endsAt: null, labels: {}, reminder: false }],
  };
  return (await sendToAll(targets, notice, "kissbot-bridge (notify test)", out)) ? 0 : 1;
}

async function digestCommand(values: { preview?: boolean | undefined; send?: boolean | undefined; period?: string | undefined; timezone?: string | undefined; budgets?: string | undefined; db?: string | undefined; notify?: string[] | undefined; "notify-config"?: string | undefined; target?: string | undefined }, env: NodeJS.ProcessEnv, publicUrl: string, out: Out): Promise<number> {
  const fail = (msg: string) => {
    out.stderr.write(`kissbot-bridge: ${msg}\n`);
    return 2;
  };
  if (values.preview === values.send) return fail("notify digest takes one of --preview and --send");
  const period = values.period === "last-week" ? "weekly" : values.period === "last-month" ? "monthly" : undefined;
  if (period === undefined) return fail(`--period must be last-week or last-month, not ${JSON.stringify(values.period)}`);
  const zone = timeZoneOption(values.timezone, env);
  if ("error" in zone) return fail(zone.error);
  const timeZone = zone.zone;
  let budgets: BudgetTable | null;
  try {
    budgets = FLAGS.budgets.parse(values.budgets ?? env[FLAGS.budgets.env] ?? "");
  } catch (err) {
    return fail(`invalid --budgets: ${(err as Error).message}`);
  }
  const targets = values.send ? targetsOf(values, env, "digest") : [];
  if (typeof targets === "string") return fail(targets);
  const now = Date.now();
  // The last whole week or month: the one whose digest is due at midnight.
  const w = latestDigest(period, now, { hour: 0, minute: 0 }, timeZone);
  const path = dbPath(values, env);
  const rows = readDatabase(path, (db) => digestFromDatabase(db, { fromMs: w.fromMs, toMs: w.toMs, previousFromMs: w.previousFromMs, nowMs: now, live: null }));
  const text = digestText(w, rows, (channel) => (budgets === null ? null : channelLimits(budgets, channel).monthly), timeZone);
  if (values.preview) {
    out.stdout.write(printable(digestPlain(text)).replace(/\\x0a/g, "\n"));
    return 0;
  }
  return (await sendToAll(targets, { alerts: [], digest: text, publicUrl }, "kissbot-bridge (notify digest)", out)) ? 0 : 1;
}
