/**
 * Every metric the bridge exports, in one place. Names, labels and units are public API:
 * dashboards, alert rules and users' queries depend on them. Change none without a note in
 * CHANGELOG.md. The catalog in docs/metrics.md is generated from this list (npm run docs).
 */
export type MetricType = "gauge" | "counter" | "histogram";

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
}

const spec = (name: string, type: MetricType, labels: readonly string[], help: string): MetricSpec => ({
  name,
  type,
  labels,
  help,
});

export const CATALOG = {
  // One bot per Twitch channel.
  botUp: spec("kissbot_bot_up", "gauge", ["channel"], "1 while the bot's process runs (for a PID not visible here: while its heartbeats are fresh), 0 once it died without unregistering."),
  botHeartbeatAge: spec("kissbot_bot_heartbeat_age_seconds", "gauge", ["channel"], "Seconds since the bot's last heartbeat (since registration before the first one)."),
  botLastHeartbeat: spec("kissbot_bot_last_heartbeat_timestamp_seconds", "gauge", ["channel"], "Unix time of the bot's last heartbeat (its registration before the first one)."),
  botStatus: spec("kissbot_bot_status", "gauge", ["channel", "status"], "1 for the bot's current status (online, stale or dead), 0 for the others."),
  botInfo: spec("kissbot_bot_info", "gauge", ["channel", "pid"], "Always 1; carries the PID the bot registered with."),
  botFeature: spec("kissbot_bot_feature_enabled", "gauge", ["channel", "feature"], "1 if the bot registered the feature as enabled, 0 if disabled."),
  botRegistered: spec("kissbot_bot_registered_timestamp_seconds", "gauge", ["channel"], "Unix time at which the bot registered."),
  processCpu: spec("kissbot_process_cpu_seconds_total", "counter", ["channel", "pid"], "User and system CPU time used by the bot's process, in seconds."),
  processCpuRatio: spec("kissbot_process_cpu_usage_ratio", "gauge", ["channel", "pid"], "CPU used by the bot's process over the last sample interval; 1.0 is one core. Self-reported when the PID is not visible here."),
  processRss: spec("kissbot_process_resident_memory_bytes", "gauge", ["channel", "pid"], "Resident memory of the bot's process in bytes. Self-reported when the PID is not visible here."),
  // LLM usage, from llm_usage messages and from the bots' own llm_usage rows.
  llmRequests: spec("kissbot_llm_requests_total", "counter", ["channel", "model", "feature"], "LLM calls: llm_usage messages, and llm_usage rows the bots wrote into the database themselves."),
  llmTokens: spec("kissbot_llm_tokens_total", "counter", ["channel", "model", "feature", "token_type"], "LLM tokens used, by token_type (input or output)."),
  llmLatency: spec("kissbot_llm_latency_seconds", "histogram", ["channel", "model", "feature"], "Latency of LLM calls that reported one, in seconds."),
  llmCost: spec("kissbot_llm_cost_usd_total", "counter", ["channel", "model", "feature", "cost_source"], "Cost of LLM calls in US dollars: cost_source=\"reported\" by the bot, or \"computed\" by the bridge from its price sources (kissbot_llm_price_info)."),
  priceInfo: spec("kissbot_llm_price_info", "gauge", ["source", "version"], "Always 1 for each source of LLM prices loaded, in the order they are asked: source=\"file\" (--prices, version its updated:), \"shipped\" (the table shipped with the bridge, version its updated:), \"library\" (@pydantic/genai-prices, version its package version)."),
  llmUnpriced: spec("kissbot_llm_unpriced_requests_total", "counter", ["channel", "model", "feature"], "LLM calls that reported no cost and whose model no price source knows (--prices, the shipped table, its local rules, the price library): their cost is unknown, not zero."),
  // LLM totals the bots keep themselves (KissBot's llm_totals table).
  llmRecordedRequests: spec("kissbot_llm_recorded_requests_total", "counter", [], "LLM calls counted by the bots in llm_totals, their cloud path included (which writes no per-call row); absent until the table exists."),
  llmRecordedTokens: spec("kissbot_llm_recorded_tokens_total", "counter", ["token_type"], "LLM tokens counted by the bots in llm_totals, by token_type (input or output); absent until the table exists."),
  // LLM spend of the current day and month, read from llm_usage (a restart resets nothing), and budgets.
  llmSpend: spec("kissbot_llm_spend_usd", "gauge", ["channel", "period"], "US dollars spent on LLM calls in the current period (period=\"day\" or \"month\", starting at midnight in --timezone), from llm_usage: the bridge's rows and the bots' own."),
  llmSpendRequests: spec("kissbot_llm_spend_requests", "gauge", ["channel", "period"], "LLM calls in the current period (period=\"day\" or \"month\"), from llm_usage."),
  llmSpendTokens: spec("kissbot_llm_spend_tokens", "gauge", ["channel", "period"], "LLM tokens (input and output) in the current period (period=\"day\" or \"month\"), from llm_usage."),
  llmSpendDetail: spec("kissbot_llm_spend_detail_usd", "gauge", ["channel", "model", "feature", "period"], "US dollars spent in the current period by channel, model and feature, from llm_usage; the --max-llm-series largest this month at most."),
  llmSpendPeriodStart: spec("kissbot_llm_spend_period_start_timestamp_seconds", "gauge", ["period"], "Unix time at which the current day or month began in --timezone."),
  llmSpendPeriodEnd: spec("kissbot_llm_spend_period_end_timestamp_seconds", "gauge", ["period"], "Unix time at which the current day or month ends in --timezone."),
  llmSpendRead: spec("kissbot_llm_spend_read_timestamp_seconds", "gauge", [], "Unix time of the last successful read of spend from the database (absent before the first)."),
  llmBudget: spec("kissbot_llm_budget_usd", "gauge", ["channel", "period"], "The channel's LLM budget in US dollars for the period (day or month), from --budgets: its own limit, else the default; for every channel with a bot, spend or a limit."),
  llmFeatureBudget: spec("kissbot_llm_feature_budget_usd", "gauge", ["channel", "feature", "period"], "A feature's own LLM budget in US dollars within a channel, from --budgets."),
  botAvailabilityObjective: spec("kissbot_bot_availability_objective_ratio", "gauge", ["channel"], "The bot's availability objective (--availability-objective, 0.99 = 99%), for every bot the bridge knows: the burn-rate alerts and the error-budget panel read it."),
  botSnoozedUntil: spec("kissbot_bot_snoozed_until_seconds", "gauge", ["channel"], "Unix time at which the channel's snooze ends (kissbot-bridge snooze), for each channel snoozed now: its notifications and the shipped alert rules are silent until then."),
  customMetric: spec("kissbot_custom_metric", "gauge", ["channel", "name"], "Last value of a custom_metric message."),
  // The bridge itself.
  messages: spec("kissbot_bridge_messages_total", "counter", ["message_type"], "Valid messages received, by type."),
  rejectedLines: spec("kissbot_bridge_rejected_lines_total", "counter", ["reason"], "Lines dropped as invalid, by reason."),
  ignoredMessages: spec("kissbot_bridge_ignored_messages_total", "counter", ["reason"], "Valid messages that changed nothing (PID mismatch, unknown bot, a bound reached), by reason."),
  seriesRefused: spec("kissbot_bridge_series_refused_total", "counter", ["kind"], "New series refused because a total bound was reached: kind=\"llm\" (--max-llm-series), \"custom\" (--max-custom-series), \"feature\" (flags dropped by --max-feature-series), \"spend\" (channel × model × feature groups of this month's spend a read of the database left out, 20,000 being held; and latency buckets of the status page's last hour, past 200,000)."),
  labelValuesRefused: spec("kissbot_bridge_label_values_refused_total", "counter", ["label"], "Distinct label values refused because the label reached its bound."),
  connections: spec("kissbot_bridge_connections_total", "counter", [], "Connections accepted on the Monitor socket."),
  openConnections: spec("kissbot_bridge_open_connections", "gauge", [], "Connections open on the Monitor socket."),
  droppedConnections: spec("kissbot_bridge_dropped_connections_total", "counter", ["reason"], "Connections closed by the bridge: max_connections (the idlest, to make room), idle_timeout, line_timeout (no complete line in time), buffer_limit (holding the most unfinished bytes when --max-buffered-bytes was reached)."),
  bufferedBytes: spec("kissbot_bridge_buffered_line_bytes", "gauge", [], "Bytes held for unfinished lines across the Monitor socket's connections (bounded by --max-buffered-bytes)."),
  bots: spec("kissbot_bridge_bots", "gauge", ["status"], "Bots known to the bridge, by status."),
  sampleErrors: spec("kissbot_bridge_process_sample_errors_total", "counter", [], "Reads of a bot's process that failed for a reason other than the process being gone, or whose result could not be applied."),
  samplerOverruns: spec("kissbot_bridge_process_sampler_overruns_total", "counter", [], "Sampling rounds skipped because the previous one was still running."),
  otlpExports: spec("kissbot_bridge_otlp_exports_total", "counter", ["result"], "OTLP metric exports by result (success or failure); 0 while OTLP push is off."),
  dbErrors: spec("kissbot_bridge_db_errors_total", "counter", ["op"], "Database operations that failed (open, write, retention, follow), and files found deleted or replaced under the bridge (replaced); the bridge keeps running and retries."),
  dbReadsRefused: spec("kissbot_bridge_db_reads_refused_total", "counter", ["reason"], "Reads of the database refused: those of the HTTP API (answered 503) and the follower's of the bots' rows (read again at its next poll); reason=\"timeout\" (slower than --db-read-timeout), \"busy\" (too many waiting) or \"error\" (cannot be read)."),
  dbWritable: spec("kissbot_bridge_db_writable", "gauge", [], "1 while the database's last open or commit succeeded, 0 while it fails (rows wait in the queue)."),
  dbFollowedRows: spec("kissbot_bridge_db_followed_rows_total", "counter", [], "llm_usage rows written by the bots themselves that the bridge read and checked (rejected ones included)."),
  dbRejectedRows: spec("kissbot_bridge_db_rejected_rows_total", "counter", ["reason"], "Bots' llm_usage rows skipped as invalid, by reason (the reasons of rejected lines)."),
  dbRows: spec("kissbot_bridge_db_rows_written_total", "counter", ["table"], "Rows committed to the database, by table."),
  dbCommits: spec("kissbot_bridge_db_commits_total", "counter", [], "Database transactions committed (one per flush interval at most, whatever the message rate)."),
  dbDropped: spec("kissbot_bridge_db_dropped_rows_total", "counter", [], "Rows dropped because the database write queue was full."),
  dbQueued: spec("kissbot_bridge_db_queued_rows", "gauge", [], "Rows waiting for the next database commit."),
  logDropped: spec("kissbot_bridge_log_dropped_lines_total", "counter", [], "Log lines dropped because stdout was not taking them (a stalled pipe or log shipper); the bridge carries on."),
  channelLogErrors: spec("kissbot_bridge_channel_log_errors_total", "counter", [], "Writes to per-bot log files that failed."),
  scrapes: spec("kissbot_bridge_scrapes_total", "counter", ["render"], "Scrapes of /metrics: render=\"own\" rendered for them, render=\"shared\" answered with the render of a scrape already running."),
  internalErrors: spec("kissbot_bridge_internal_errors_total", "counter", ["component"], "Errors thrown inside the bridge's own timers, worker replies and stream handlers, by component; each was caught and logged (rate-limited), and the component carried on. Anything above 0 is a bug worth reporting."),
  httpRefused: spec("kissbot_bridge_http_refused_total", "counter", ["reason"], "HTTP requests or connections refused before any route ran: reason=\"host\" (a Host header that is not the listen address, localhost, an IP address or a name in --allowed-hosts: the defence against DNS rebinding), \"max_connections\" (connections closed to keep the HTTP connection limit: the idlest one making room for a new one, or the new one when every one is answering a request), \"unauthorized\" (no or wrong basic auth credentials, --web.config.file), \"auth_busy\" (answered 429: the queue of password checks is full, two per client address, 64 in all), \"client_cert\" (a client certificate the web config requires was missing or did not verify)."),
  dbSetAside: spec("kissbot_bridge_db_set_aside_rows_total", "counter", [], "Rows the database could not take within the shutdown bound, written to the journal beside it (DB.journal) instead; each is committed exactly once at the next start."),
  recordDropped: spec("kissbot_bridge_record_dropped_changes_total", "counter", [], "Bot state changes and snoozes left out of the record (bot_record) because it already followed twice --max-bots channels."),
  dbReplayed: spec("kissbot_bridge_db_replayed_rows_total", "counter", [], "Rows set aside by an earlier run's shutdown and committed at this start."),
  notifications: spec("kissbot_bridge_notifications_total", "counter", ["kind", "outcome"], "Attempts to send a notification (--notify) by target kind (discord, slack, webhook, teams, apprise, telegram, ntfy, gotify, pushover, matrix, email) and outcome: sent, rate_limited (429: sent again when the server says), failed (no answer or 5xx: retried with backoff), rejected (another 4xx: given up), dropped (queue full, or undelivered for a day)."),
  notificationsQueued: spec("kissbot_bridge_notifications_queued", "gauge", [], "Notification messages waiting for their target (retries included), across targets."),
  collectorErrors: spec("kissbot_bridge_collector_errors_total", "counter", ["collector"], "Metric families that failed to collect during a scrape; the rest of the scrape was served."),
  buildInfo: spec("kissbot_bridge_build_info", "gauge", ["version"], "Always 1; carries the bridge's version."),
} as const satisfies Record<string, MetricSpec>;
