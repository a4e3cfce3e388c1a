import { LOG_LEVELS, type LogLevel } from "../log/logger.js";
import { bool, budgetFile, notifyConfigFile, duration, fileMode, hostList, hostPort, integer, nonEmpty, oneOf, optionalInteger, optionalPath, optionalUrl, prefixPairs, ratio, seconds, timeOfDay, timeZone, webConfigFile } from "./parsers.js";
import { parseTargets } from "../notify/targets.js";

export interface Flag<T> {
  readonly name: string;
  /** What the value looks like, for --help. */
  readonly metavar: string;
  readonly env: string;
  readonly default: string;
  readonly help: string;
  readonly parse: (raw: string) => T;
  /** A switch: `--name` alone means true. */
  readonly boolean?: true;
  /** May be given several times; the values are joined with commas, as in its variable. */
  readonly multiple?: true;
}

const flag = <T>(name: string, metavar: string, env: string, def: string, help: string, parse: (raw: string) => T): Flag<T> => ({
  name,
  metavar,
  env,
  default: def,
  help,
  parse,
});

/**
 * Every flag of the bridge, with its environment variable and default: a stable contract.
 * --help and the flag table of docs/configuration.md are generated from this list.
 */
export const FLAGS = {
  socket: flag("socket", "PATH", "KISSBOT_MONITOR_SOCKET", "/tmp/kissbot_monitor.sock", "Unix socket the bots report to (the Monitor's path)", nonEmpty),
  fileMode: flag("file-mode", "OCTAL", "KISSBOT_BRIDGE_FILE_MODE", "640", "file mode of the database and per-bot logs the bridge creates, octal: LLM usage is private to the bridge's user and group", fileMode),
  socketMode: flag("socket-mode", "OCTAL", "KISSBOT_BRIDGE_SOCKET_MODE", "660", "file mode of the socket, octal; never world-writable unless asked", fileMode),
  listen: flag("listen", "HOST:PORT", "KISSBOT_BRIDGE_LISTEN", "127.0.0.1:9877", "HOST:PORT of the HTTP server (/metrics, /-/healthy, /-/ready)", hostPort),
  webConfig: flag("web.config.file", "FILE", "KISSBOT_BRIDGE_WEB_CONFIG_FILE", "", "exporter-toolkit web configuration (as node_exporter's): TLS, client certificates, basic auth users (bcrypt) and headers for every HTTP endpoint but /-/healthy; reread on SIGHUP", webConfigFile),
  allowedHosts: flag("allowed-hosts", "NAME,…", "KISSBOT_BRIDGE_ALLOWED_HOSTS", "", "host names HTTP answers to besides IP addresses, localhost and the --listen host (a reverse proxy's name; * for any): other Host headers get 403, against DNS rebinding", hostList),
  staleAfterMs: flag("stale-after", "SECONDS", "KISSBOT_BRIDGE_STALE_AFTER", "120", "seconds without a heartbeat before a bot is stale", seconds(0.1, 86_400)),
  sampleIntervalMs: flag("sample-interval", "SECONDS", "KISSBOT_BRIDGE_SAMPLE_INTERVAL", "15", "seconds between samples of each bot's CPU and memory", seconds(0.1, 3_600)),
  logLevel: flag("log-level", "LEVEL", "KISSBOT_BRIDGE_LOG_LEVEL", "info", `log level: ${LOG_LEVELS.join(", ")}`, oneOf<LogLevel>(LOG_LEVELS)),
  maxLineBytes: flag("max-line-bytes", "BYTES", "KISSBOT_BRIDGE_MAX_LINE_BYTES", "65536", "longest line accepted; longer ones are discarded and counted", integer(256, 16 * 1024 * 1024)),
  idleTimeoutMs: flag("idle-timeout", "SECONDS", "KISSBOT_BRIDGE_IDLE_TIMEOUT", "30", "seconds a connection may stay silent before it is closed", seconds(0.1, 86_400)),
  lineTimeoutMs: flag("line-timeout", "SECONDS", "KISSBOT_BRIDGE_LINE_TIMEOUT", "5", "seconds a connection may go without its first line, or hold part of a line, before it is closed", seconds(0.1, 3_600)),
  maxBufferedBytes: flag("max-buffered-bytes", "BYTES", "KISSBOT_BRIDGE_MAX_BUFFERED_BYTES", "33554432", "bytes of unfinished lines held across all connections at most (32 MiB); past it the connection holding the most is closed and counted", integer(65_536, 4 * 1024 * 1024 * 1024)),
  maxConnections: flag("max-connections", "N", "KISSBOT_BRIDGE_MAX_CONNECTIONS", "1024", "open connections at most; past it the idlest one is closed (and counted) so a new sender gets in", integer(1, 1_000_000)),
  maxBots: flag("max-bots", "N", "KISSBOT_BRIDGE_MAX_BOTS", "2000", "bots (channels) tracked at most, and channels with LLM usage or custom metrics; past it, new ones are ignored and counted", integer(1, 1_000_000)),
  maxLlmSeries: flag("max-llm-series", "N", "KISSBOT_BRIDGE_MAX_LLM_SERIES", "3000", "LLM series (channel × model × feature) at most, in all; new combinations past it are ignored and counted", integer(1, 10_000_000)),
  maxFeatureSeries: flag("max-feature-series", "N", "KISSBOT_BRIDGE_MAX_FEATURE_SERIES", "20000", "feature flags at most across all bots; flags past it are dropped from registrations and counted", integer(0, 10_000_000)),
  maxCustomSeries: flag("max-custom-series", "N", "KISSBOT_BRIDGE_MAX_CUSTOM_SERIES", "5000", "custom metric series (channel × name) at most; new ones past it are ignored and counted", integer(1, 10_000_000)),
  maxLabelValues: flag("max-label-values", "N", "KISSBOT_BRIDGE_MAX_LABEL_VALUES", "500", "distinct values at most per bot-chosen label (model, feature, name)", integer(1, 1_000_000)),
  db: flag("db", "PATH", "KISSBOT_MONITOR_DB", "./kissbot_monitor.db", "SQLite database (the original Monitor's kissbot_monitor.db): bot_status, llm_usage, bot_metrics", nonEmpty),
  noDb: { ...flag("no-db", "", "KISSBOT_BRIDGE_NO_DB", "false", "keep no database (and restore nothing after a restart)", bool), boolean: true },
  dbReadTimeoutMs: flag("db-read-timeout", "SECONDS", "KISSBOT_BRIDGE_DB_READ_TIMEOUT", "5", "seconds an HTTP API read of the database may take (on its own thread) before it is answered 503", seconds(0.05, 600)),
  retentionDays: flag("retention-days", "DAYS", "KISSBOT_BRIDGE_RETENTION_DAYS", "7", "bot_metrics rows older than this are deleted daily", integer(1, 36_500)),
  usageRetentionDays: flag("usage-retention-days", "DAYS", "KISSBOT_BRIDGE_USAGE_RETENTION_DAYS", "", "llm_usage rows older than this are deleted daily; empty keeps them all", optionalInteger(1, 36_500)),
  incidentRetentionDays: flag("incident-retention-days", "DAYS", "KISSBOT_BRIDGE_INCIDENT_RETENTION_DAYS", "400", "the record of bots' state changes (availability, incidents) older than this is deleted daily, each bot's last state before it kept", integer(1, 36_500)),
  availabilityObjective: flag("availability-objective", "RATIO", "KISSBOT_BRIDGE_AVAILABILITY_OBJECTIVE", "0.99", "each bot's availability objective (0.99 = 99%), exported as kissbot_bot_availability_objective_ratio for the burn-rate alerts and the error-budget panel", ratio),
  publicBadges: { ...flag("public-badges", "", "KISSBOT_BRIDGE_PUBLIC_BADGES", "false", "serve /badge/… (status and availability badges) without the web config's credentials; every other page stays protected", bool), boolean: true },
  channelLogDir: flag("channel-log-dir", "DIR", "KISSBOT_BRIDGE_CHANNEL_LOG_DIR", "./logs/broadcast", "per-bot logs go to DIR/{channel}/instance.log", nonEmpty),
  noChannelLogs: { ...flag("no-channel-logs", "", "KISSBOT_BRIDGE_NO_CHANNEL_LOGS", "false", "write no per-bot logs", bool), boolean: true },
  budgets: flag("budgets", "FILE", "KISSBOT_BRIDGE_BUDGETS", "", "YAML file of LLM budgets in USD (daily_usd, monthly_usd; a default, per channel, per feature), exported as kissbot_llm_budget_usd; reloaded on SIGHUP", budgetFile),
  timezone: flag("timezone", "ZONE", "KISSBOT_BRIDGE_TIMEZONE", "UTC", "IANA time zone (Europe/Paris, America/New_York…) in which a day and a month of LLM spend start, and the calendar days and months of availability (uptime, the status page, the digest)", timeZone),
  prices: flag("prices", "FILE", "KISSBOT_BRIDGE_PRICES", "", "YAML price table (USD per 1M tokens) replacing or adding models of the shipped one, for calls that report no cost", optionalPath),
  kissbotConfig: flag("kissbot-config", "FILE", "KISSBOT_BRIDGE_KISSBOT_CONFIG", "", "KissBot's config.yaml: its monitoring section sets defaults that flags and variables override", optionalPath),
  unseenPids: flag("unseen-pids", "refuse|accept", "KISSBOT_BRIDGE_UNSEEN_PIDS", "refuse", "a register whose PID is not running here: refuse it (as the original Monitor did) or accept it and follow its heartbeats (bots in another PID namespace)", oneOf(["refuse", "accept"] as const)),
  otelPrometheus: { ...flag("otel-prometheus", "", "KISSBOT_BRIDGE_OTEL_PROMETHEUS", "false", "also serve OpenTelemetry-named metrics at /otel/metrics", bool), boolean: true },
  notify: { ...flag("notify", "KIND=URL", "KISSBOT_NOTIFY", "", "send alerts to KIND discord (a Discord webhook URL), slack (a Slack-compatible incoming webhook), webhook (Alertmanager's webhook JSON, version 4), teams (a Teams Workflows webhook) or apprise (an Apprise API /notify/KEY URL), or to an Apprise URL: tgram://BOT_TOKEN/CHAT_ID, ntfy://topic, ntfys://[user:pass@]host/topic, gotifys://host/APP_TOKEN, pover://USER_KEY@APP_TOKEN, matrixs://TOKEN@host/#room, mailtos://user:pass@host?to=ADDRESS; every channel, every event; repeatable, or comma-separated in the variable; URLs and tokens are secrets, never logged nor shown", parseTargets), multiple: true },
  notifyConfig: flag("notify-config", "FILE", "KISSBOT_BRIDGE_NOTIFY_CONFIG", "", "YAML list of notification targets, each a url (any --notify form) with an optional name, the channels (names or * ? patterns) and the events (down, resolved, flapping, reminder, spend, digest, test) it is sent; beside --notify; reloaded on SIGHUP", notifyConfigFile),
  notifyGraceMs: flag("notify-grace", "DURATION", "KISSBOT_BRIDGE_NOTIFY_GRACE", "60s", "a bot down for less than this is not reported (a supervisor's quick restart)", duration(0, 86_400_000)),
  notifyRepeatMs: flag("notify-repeat", "DURATION", "KISSBOT_BRIDGE_NOTIFY_REPEAT", "4h", "a bot still down is reminded this often", duration(1000, 30 * 86_400_000)),
  notifyGroupWaitMs: flag("notify-group-wait", "DURATION", "KISSBOT_BRIDGE_NOTIFY_GROUP_WAIT", "5s", "alerts within this long of the first are sent as one message", duration(0, 3_600_000)),
  notifyFlapCount: flag("notify-flap-count", "N", "KISSBOT_BRIDGE_NOTIFY_FLAP_COUNT", "3", "a bot that goes down this many times within --notify-flap-window is reported once as flapping", integer(2, 1000)),
  notifyFlapWindowMs: flag("notify-flap-window", "DURATION", "KISSBOT_BRIDGE_NOTIFY_FLAP_WINDOW", "15m", "see --notify-flap-count; flapping ends after a whole window without a fall", duration(1000, 7 * 86_400_000)),
  notifyDigest: flag("notify-digest", "off|weekly|monthly", "KISSBOT_BRIDGE_NOTIFY_DIGEST", "off", "send every --notify target one message a week or a month: each bot's availability, incidents, LLM calls, tokens and spend", oneOf(["off", "weekly", "monthly"] as const)),
  notifyDigestAt: flag("notify-digest-at", "HH:MM", "KISSBOT_BRIDGE_NOTIFY_DIGEST_AT", "09:00", "local time (--timezone) at which the digest goes out, on Mondays (weekly) or the 1st (monthly)", timeOfDay),
  publicUrl: flag("public-url", "URL", "KISSBOT_BRIDGE_PUBLIC_URL", "", "the bridge's address as people reach it, for links in notifications (default: http:// and --listen)", optionalUrl),
  genaiProviders: flag("genai-providers", "PREFIX=NAME,…", "KISSBOT_BRIDGE_GENAI_PROVIDERS", "", "gen_ai.provider.name for models whose name starts with PREFIX, before the built-in table (OpenTelemetry only)", prefixPairs),
} as const;

export type FlagValues = { [K in keyof typeof FLAGS]: ReturnType<(typeof FLAGS)[K]["parse"]> };
