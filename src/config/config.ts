import { parseArgs } from "node:util";
import { FLAGS, type FlagValues } from "./flags.js";
import { otelConfigFromEnv, type OtelConfig } from "../otel/otel-config.js";
import { kissbotDefaults, type KissbotDefaults } from "./kissbot-config.js";

export type Config = FlagValues & { otel: OtelConfig };

export type ParsedCommandLine =
  | { kind: "run"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

/**
 * Flags win over environment variables, which win over KissBot's config.yaml (--kissbot-config),
 * which wins over defaults. Never throws.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const options = Object.assign(Object.create(null) as Record<string, { type: "string" | "boolean"; multiple?: boolean }>, { help: { type: "boolean" }, version: { type: "boolean" } });
  for (const f of Object.values(FLAGS)) options[f.name] = "boolean" in f ? { type: "boolean" } : "multiple" in f ? { type: "string", multiple: true } : { type: "string" };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    // parseArgs explains over several lines; the first names the flag, which is what a user needs.
    return { kind: "error", message: withSuggestion((err as Error).message.split("\n")[0]!, Object.keys(options)) };
  }
  if (values["help"] === true) return { kind: "help" };
  if (values["version"] === true) return { kind: "version" };
  const kissbotPath = (values[FLAGS.kissbotConfig.name] as string | undefined) ?? env[FLAGS.kissbotConfig.env];
  let kissbot: KissbotDefaults = { values: {}, origin: {} };
  if (kissbotPath !== undefined && kissbotPath.trim() !== "") {
    try {
      kissbot = kissbotDefaults(kissbotPath);
    } catch (err) {
      return { kind: "error", message: `invalid --kissbot-config: ${(err as Error).message}` };
    }
  }
  const config = Object.create(null) as Record<string, unknown>;
  for (const [key, f] of Object.entries(FLAGS)) {
    const given = values[f.name];
    const fromFlag = given === true ? "true" : Array.isArray(given) ? given.join(",") : given;
    const fromKissbot = kissbot.values[key as keyof typeof FLAGS];
    const raw = typeof fromFlag === "string" ? fromFlag : (env[f.env] ?? fromKissbot ?? f.default);
    const source =
      typeof fromFlag === "string"
        ? `--${f.name}`
        : env[f.env] !== undefined
          ? `${f.env} (--${f.name})`
          : fromKissbot !== undefined
            ? `${kissbot.origin[key as keyof typeof FLAGS]} (--${f.name})`
            : `--${f.name}`;
    try {
      config[key] = (f.parse as (raw: string) => unknown)(raw);
    } catch (err) {
      return { kind: "error", message: `invalid ${source}: ${(err as Error).message}` };
    }
  }
  const flags = config as FlagValues;
  const otel = otelConfigFromEnv(env, flags);
  if (!otel.ok) return { kind: "error", message: otel.message };
  return { kind: "run", config: { ...flags, otel: otel.config } };
}

/** Edit distance, for "did you mean": a handful of short names, so the plain algorithm does. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/** "Unknown option '--sokcet'" → "… Did you mean --socket? See --help." */
function withSuggestion(message: string, names: readonly string[]): string {
  const m = /Unknown option '--?([^']+)'/.exec(message);
  if (m === null) return `${message}. See --help.`;
  const given = m[1]!.split("=")[0]!;
  const best = names.map((n) => [n, distance(given, n)] as const).sort((a, b) => a[1] - b[1])[0];
  const hint = best !== undefined && best[1] <= Math.max(2, Math.floor(given.length / 3)) ? ` Did you mean --${best[0]}?` : "";
  return `${message}.${hint} See --help for every flag.`;
}

export function helpText(): string {
  const lefts = Object.values(FLAGS).map((f) => `  --${f.name}${f.metavar === "" ? "" : ` ${f.metavar}`}`);
  // The description column starts after the longest flag, so the two never run into each other.
  const width = Math.max(...lefts.map((l) => l.length)) + 2;
  const rows = Object.values(FLAGS).map((f, i) => `${lefts[i]!.padEnd(width)}${f.help}\n${"".padEnd(width)}(env ${f.env}, default ${f.default === "" ? "none" : f.default})`);
  return [
    "Usage: kissbot-bridge [flags]",
    "       kissbot-bridge status [--json]          bots, from the running bridge or the database",
    "       kissbot-bridge usage [--since 24h] [--by model] [--json]   LLM usage from the database",
    "       kissbot-bridge uptime [CHANNEL…] [--since 30d | --month YYYY-MM] [--json]   availability and incidents",
    "       kissbot-bridge snooze CHANNEL DURATION [--reason TEXT]   silence a bot's alerts (--list, unsnooze CHANNEL)",
    "       kissbot-bridge notify test [--target NAME]   send a test message to every target, or the one named",
    "       kissbot-bridge hash-password < password-file   bcrypt hash for --web.config.file's basic_auth_users",
    "       kissbot-bridge prices [--match MODEL]   the LLM price table in force, or the entry a model name finds",
    "",
    "Takes the KissBot Monitor's Unix socket and serves every bot's health and LLM usage as",
    "Prometheus metrics.",
    "",
    "Flags:",
    ...rows,
    `${"  --help".padEnd(width)}show this help`,
    `${"  --version".padEnd(width)}print the version`,
    "",
    "Exit codes: 0 success, 1 runtime failure (the socket is taken, the database cannot be read…),",
    "2 usage error (an unknown flag, a bad value).",
    "",
  ].join("\n");
}
