import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The Grafana dashboards, as code: `npm run dashboards` writes grafana/dashboards/*.json, and a
 * test checks the committed files match. Every panel has a unit; every query uses only names
 * from the metric catalog or the recording rules (a test checks that too).
 */
type Target = { expr: string; legend?: string; instant?: boolean };
type Panel = {
  title: string;
  type: "timeseries" | "stat" | "table" | "state-timeline" | "bargauge";
  unit: string;
  w: number;
  h?: number;
  targets: Target[];
  description?: string;
  mappings?: unknown[];
  thresholds?: { color: string; value: number | null }[];
  options?: Record<string, unknown>;
  transformations?: unknown[];
};
type Row = { title: string; panels: Panel[] };

const DS = { type: "prometheus", uid: "${datasource}" };
const upMappings = [
  { type: "value", options: { "0": { text: "down", color: "red", index: 0 }, "1": { text: "up", color: "green", index: 1 } } },
];
const ageThresholds = [
  { color: "green", value: null },
  { color: "orange", value: 60 },
  { color: "red", value: 120 },
];

function dashboard(uid: string, title: string, description: string, rows: Row[], extraVariables: unknown[] = []) {
  let id = 1;
  let y = 0;
  const panels: unknown[] = [];
  for (const row of rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { x: 0, y: y++, w: 24, h: 1 }, panels: [] });
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const h = p.h ?? 8;
      if (x + p.w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description ?? "",
        datasource: DS,
        gridPos: { x, y, w: p.w, h },
        targets: p.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DS,
          expr: t.expr,
          legendFormat: t.legend ?? "__auto",
          instant: t.instant ?? false,
          range: !(t.instant ?? false),
          ...(p.type === "table" ? { format: "table" } : {}),
        })),
        fieldConfig: {
          defaults: {
            unit: p.unit,
            mappings: p.mappings ?? [],
            thresholds: { mode: "absolute", steps: p.thresholds ?? [{ color: "green", value: null }] },
            ...(p.type === "timeseries" ? { custom: { drawStyle: "line", lineWidth: 1, fillOpacity: 10, showPoints: "never", spanNulls: false } } : {}),
          },
          overrides: [],
        },
        options: {
          ...(p.type === "timeseries" ? { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } } : {}),
          ...(p.options ?? {}),
        },
        ...(p.transformations ? { transformations: p.transformations } : {}),
      });
      x += p.w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid,
    title,
    description,
    tags: ["kissbot"],
    editable: true,
    graphTooltip: 1,
    refresh: "30s",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-6h", to: "now" },
    timezone: "browser",
    templating: {
      list: [
        { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: {}, hide: 0, refresh: 1 },
        ...extraVariables,
      ],
    },
    annotations: { list: [] },
    links: [{ title: "KissBot dashboards", type: "dashboards", tags: ["kissbot"], asDropdown: true, includeVars: false, keepTime: true }],
    panels,
  };
}

/** A channel's spend of the period as a share of its budget: green, orange from 80%, red from 100%. */
function spendVsBudget(period: "day" | "month", title: string, description: string): Panel {
  return {
    title,
    type: "bargauge",
    unit: "percentunit",
    w: 12,
    description,
    targets: [{ expr: `kissbot_llm_spend_usd{period="${period}"} / on (instance, job, channel, period) kissbot_llm_budget_usd{period="${period}"}`, legend: "{{channel}}", instant: true }],
    thresholds: [
      { color: "green", value: null },
      { color: "orange", value: 0.8 },
      { color: "red", value: 1 },
    ],
    options: { displayMode: "gradient", orientation: "horizontal", reduceOptions: { calcs: ["lastNotNull"] }, minVizHeight: 10, maxVizHeight: 24 },
  };
}

export const OVERVIEW = dashboard("kissbot-overview", "KissBot / Overview", "Every KissBot bot at a glance: state, heartbeats, CPU and memory, LLM usage, and the bridge's health.", [
  {
    title: "Bots",
    panels: [
      { title: "Bots by status", type: "stat", unit: "none", w: 6, targets: [{ expr: "sum by (status) (kissbot_bridge_bots)", legend: "{{status}}" }], options: { colorMode: "value", graphMode: "none", textMode: "value_and_name", reduceOptions: { calcs: ["lastNotNull"] } } },
      {
        title: "Heartbeat age by bot",
        type: "bargauge",
        unit: "s",
        w: 18,
        description: "Seconds since each bot's last heartbeat. Bots heartbeat every 30 s and are stale after 120 s.",
        targets: [{ expr: "sort_desc(kissbot_bot_heartbeat_age_seconds)", legend: "{{channel}}", instant: true }],
        thresholds: ageThresholds,
        options: { displayMode: "gradient", orientation: "horizontal", showUnfilled: true, reduceOptions: { calcs: ["lastNotNull"] } },
      },
      { title: "Up", type: "state-timeline", unit: "none", w: 24, description: "1 while the bot's process runs; 0 once it died without unregistering.", targets: [{ expr: "kissbot_bot_up", legend: "{{channel}}" }], mappings: upMappings, options: { showValue: "never" } },
    ],
  },
  {
    title: "Processes",
    panels: [
      { title: "CPU by bot", type: "timeseries", unit: "percentunit", w: 12, description: "1.0 = one core.", targets: [{ expr: "kissbot_process_cpu_usage_ratio", legend: "{{channel}}" }] },
      { title: "Resident memory by bot", type: "timeseries", unit: "bytes", w: 12, targets: [{ expr: "kissbot_process_resident_memory_bytes", legend: "{{channel}}" }] },
    ],
  },
  {
    title: "LLM usage",
    panels: [
      { title: "Tokens per minute by model and feature", type: "timeseries", unit: "short", w: 12, targets: [{ expr: "sum by (model, feature) (channel_model_feature:kissbot_llm_tokens:rate5m) * 60", legend: "{{model}} / {{feature}}" }] },
      { title: "LLM calls per minute by feature", type: "timeseries", unit: "short", w: 12, targets: [{ expr: "sum by (feature) (channel_model_feature:kissbot_llm_requests:rate5m) * 60", legend: "{{feature}}" }] },
      {
        title: "Latency p50 and p95 by model",
        type: "timeseries",
        unit: "s",
        w: 12,
        targets: [
          { expr: "model:kissbot_llm_latency_seconds:p50_5m", legend: "p50 {{model}}" },
          { expr: "model:kissbot_llm_latency_seconds:p95_5m", legend: "p95 {{model}}" },
        ],
      },
      { title: "Estimated cost per hour by model", type: "timeseries", unit: "currencyUSD", w: 12, description: "From the estimated_cost that bots report with their LLM calls.", targets: [{ expr: "sum by (model) (channel_model_feature:kissbot_llm_cost_usd:rate5m) * 3600", legend: "{{model}}" }] },
    ],
  },
  {
    title: "LLM spend and budgets",
    panels: [
      spendVsBudget("day", "Spend today vs budget by channel", "Today's spend (from llm_usage, the day starting at midnight in the bridge's --timezone) as a share of each channel's daily budget (--budgets). 80% warns, 100% pages."),
      spendVsBudget("month", "Spend this month vs budget by channel", "This month's spend as a share of each channel's monthly budget."),
      {
        title: "Top spenders today",
        type: "bargauge",
        unit: "currencyUSD",
        w: 12,
        description: "The ten channels that spent the most today.",
        targets: [{ expr: 'topk(10, kissbot_llm_spend_usd{period="day"})', legend: "{{channel}}", instant: true }],
        options: { displayMode: "basic", orientation: "horizontal", reduceOptions: { calcs: ["lastNotNull"] } },
      },
      {
        title: "Top spenders this month by model and feature",
        type: "bargauge",
        unit: "currencyUSD",
        w: 12,
        targets: [{ expr: 'topk(10, kissbot_llm_spend_detail_usd{period="month"})', legend: "{{channel}} {{model}} / {{feature}}", instant: true }],
        options: { displayMode: "basic", orientation: "horizontal", reduceOptions: { calcs: ["lastNotNull"] } },
      },
      {
        title: "Spend today by channel",
        type: "timeseries",
        unit: "currencyUSD",
        w: 12,
        description: "Resets at midnight in the bridge's --timezone; with each channel's daily budget.",
        targets: [
          { expr: 'kissbot_llm_spend_usd{period="day"}', legend: "{{channel}}" },
          { expr: 'kissbot_llm_budget_usd{period="day"}', legend: "{{channel}} budget" },
        ],
      },
      { title: "LLM calls per minute by channel", type: "timeseries", unit: "short", w: 12, description: "A loop shows as a cliff: see docs/runbook.md#kissbotllmrunaway.", targets: [{ expr: "channel:kissbot_llm_requests:rate10m * 60", legend: "{{channel}}" }] },
    ],
  },
  {
    title: "Bridge",
    panels: [
      { title: "Messages by type", type: "timeseries", unit: "ops", w: 8, targets: [{ expr: "sum by (message_type) (rate(kissbot_bridge_messages_total[$__rate_interval]))", legend: "{{message_type}}" }] },
      { title: "Rejected lines by reason", type: "timeseries", unit: "ops", w: 8, description: "Lines the bridge could not understand. See docs/runbook.md#kissbotbridgerejectinginput.", targets: [{ expr: "sum by (reason) (rate(kissbot_bridge_rejected_lines_total[$__rate_interval]))", legend: "{{reason}}" }] },
      {
        title: "Ignored messages and dropped connections",
        type: "timeseries",
        unit: "ops",
        w: 8,
        targets: [
          { expr: "sum by (reason) (rate(kissbot_bridge_ignored_messages_total[$__rate_interval]))", legend: "ignored: {{reason}}" },
          { expr: "sum by (reason) (rate(kissbot_bridge_dropped_connections_total[$__rate_interval]))", legend: "dropped connection: {{reason}}" },
        ],
      },
    ],
  },
]);

const channel = '{channel="$channel"}';
export const BOT = dashboard(
  "kissbot-bot",
  "KissBot / Bot",
  "One KissBot bot in detail, chosen by its channel.",
  [
    {
      title: "State",
      panels: [
        { title: "Status", type: "stat", unit: "none", w: 4, h: 5, description: "The bot's status now (an instant query: a range would also show the statuses it had earlier).", targets: [{ expr: `kissbot_bot_status${channel} == 1`, legend: "{{status}}", instant: true }], options: { textMode: "name", colorMode: "none", graphMode: "none", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Up", type: "stat", unit: "none", w: 4, h: 5, targets: [{ expr: `kissbot_bot_up${channel}` }], mappings: upMappings, options: { colorMode: "background", graphMode: "none", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Heartbeat age", type: "stat", unit: "s", w: 4, h: 5, targets: [{ expr: `kissbot_bot_heartbeat_age_seconds${channel}` }], thresholds: ageThresholds, options: { colorMode: "value", graphMode: "area", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Registered for", type: "stat", unit: "s", w: 4, h: 5, targets: [{ expr: `time() - kissbot_bot_registered_timestamp_seconds${channel}` }], options: { colorMode: "none", graphMode: "none", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "PID", type: "stat", unit: "none", w: 4, h: 5, description: "The PID the bot registered with, now (a restarted bot would show two PIDs over a range).", targets: [{ expr: `kissbot_bot_info${channel}`, legend: "{{pid}}", instant: true }], options: { textMode: "name", colorMode: "none", graphMode: "none", reduceOptions: { calcs: ["lastNotNull"] } } },
        {
          title: "Features",
          type: "table",
          unit: "none",
          w: 4,
          h: 5,
          targets: [{ expr: `kissbot_bot_feature_enabled${channel}`, instant: true }],
          mappings: [{ type: "value", options: { "0": { text: "off", index: 0 }, "1": { text: "on", index: 1 } } }],
          transformations: [{ id: "organize", options: { excludeByName: { Time: true, __name__: true, channel: true, instance: true, job: true }, renameByName: { Value: "enabled" } } }],
        },
      ],
    },
    {
      title: "Process",
      panels: [
        { title: "CPU", type: "timeseries", unit: "percentunit", w: 12, description: "1.0 = one core.", targets: [{ expr: `kissbot_process_cpu_usage_ratio${channel}`, legend: "PID {{pid}}" }] },
        { title: "Resident memory", type: "timeseries", unit: "bytes", w: 12, targets: [{ expr: `kissbot_process_resident_memory_bytes${channel}`, legend: "PID {{pid}}" }] },
      ],
    },
    {
      title: "LLM usage",
      panels: [
        { title: "Tokens per minute", type: "timeseries", unit: "short", w: 12, targets: [{ expr: `sum by (model, feature, token_type) (channel_model_feature:kissbot_llm_tokens:rate5m${channel}) * 60`, legend: "{{model}} / {{feature}} {{token_type}}" }] },
        {
          title: "Latency p50 and p95 by model",
          type: "timeseries",
          unit: "s",
          w: 12,
          targets: [
            { expr: `channel_model:kissbot_llm_latency_seconds:p50_5m${channel}`, legend: "p50 {{model}}" },
            { expr: `channel_model:kissbot_llm_latency_seconds:p95_5m${channel}`, legend: "p95 {{model}}" },
          ],
        },
        { title: "Estimated cost per hour", type: "timeseries", unit: "currencyUSD", w: 12, targets: [{ expr: `sum by (model) (channel_model_feature:kissbot_llm_cost_usd:rate5m${channel}) * 3600`, legend: "{{model}}" }] },
        { title: "Custom metrics", type: "timeseries", unit: "short", w: 12, description: "Last value of each custom_metric message.", targets: [{ expr: `kissbot_custom_metric${channel}`, legend: "{{name}}" }] },
      ],
    },
  ],
  [
    {
      name: "channel",
      label: "Channel",
      type: "query",
      datasource: DS,
      // The bots that exist now (an instant query), not every channel seen in the time range.
      query: { query: "query_result(max by (channel) (kissbot_bot_up))", refId: "channel" },
      definition: "query_result(max by (channel) (kissbot_bot_up))",
      regex: '/channel="([^"]+)"/',
      refresh: 2,
      sort: 1,
      current: {},
      hide: 0,
      includeAll: false,
      multi: false,
    },
  ],
);

/** The fleet's filter: the `host` label each bridge's scrape target carries (docs/deploy.md). */
const host = '{host=~"$host"}';

export const FLEET = dashboard(
  "kissbot-fleet",
  "KissBot / Fleet",
  "Many hosts, one bridge each: every host's bridge and bots side by side, by the host label of its scrape target.",
  [
    {
      title: "Hosts",
      panels: [
        { title: "Bridge up by host", type: "stat", unit: "none", w: 8, h: 5, targets: [{ expr: `up{job="kissbot-bridge", host=~"$host"}`, legend: "{{host}}" }], mappings: upMappings, options: { colorMode: "background", graphMode: "none", textMode: "value_and_name", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Bots by host", type: "stat", unit: "none", w: 8, h: 5, targets: [{ expr: `sum by (host) (kissbot_bridge_bots${host})`, legend: "{{host}}" }], options: { colorMode: "none", graphMode: "none", textMode: "value_and_name", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Bots not up by host", type: "stat", unit: "none", w: 8, h: 5, description: "Dead bots, and stale ones whose PID the bridge cannot see.", targets: [{ expr: `sum by (host) (1 - kissbot_bot_up${host})`, legend: "{{host}}" }], thresholds: [{ color: "green", value: null }, { color: "red", value: 1 }], options: { colorMode: "background", graphMode: "none", textMode: "value_and_name", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Bots by host and status", type: "timeseries", unit: "none", w: 12, targets: [{ expr: `sum by (host, status) (kissbot_bridge_bots${host})`, legend: "{{host}} {{status}}" }] },
        { title: "Oldest heartbeat by host", type: "timeseries", unit: "s", w: 12, targets: [{ expr: `max by (host) (kissbot_bot_heartbeat_age_seconds${host})`, legend: "{{host}}" }], thresholds: ageThresholds },
        { title: "Messages per second by host", type: "timeseries", unit: "short", w: 8, targets: [{ expr: `sum by (host) (rate(kissbot_bridge_messages_total${host}[$__rate_interval]))`, legend: "{{host}}" }] },
        { title: "Rejected lines per second by host", type: "timeseries", unit: "short", w: 8, targets: [{ expr: `sum by (host) (rate(kissbot_bridge_rejected_lines_total${host}[$__rate_interval]))`, legend: "{{host}}" }] },
        { title: "Open connections by host", type: "timeseries", unit: "none", w: 8, targets: [{ expr: `sum by (host) (kissbot_bridge_open_connections${host})`, legend: "{{host}}" }] },
      ],
    },
    {
      title: "Resources and LLM",
      panels: [
        { title: "Bots' resident memory by host", type: "timeseries", unit: "bytes", w: 12, targets: [{ expr: `sum by (host) (kissbot_process_resident_memory_bytes${host})`, legend: "{{host}}" }] },
        { title: "Bots' CPU by host", type: "timeseries", unit: "percentunit", w: 12, description: "1.0 = one core.", targets: [{ expr: `sum by (host) (kissbot_process_cpu_usage_ratio${host})`, legend: "{{host}}" }] },
        { title: "LLM calls per second by host", type: "timeseries", unit: "short", w: 8, targets: [{ expr: `sum by (host) (rate(kissbot_llm_requests_total${host}[$__rate_interval]))`, legend: "{{host}}" }] },
        { title: "LLM spend today by host", type: "bargauge", unit: "currencyUSD", w: 8, targets: [{ expr: `sum by (host) (kissbot_llm_spend_usd{period="day", host=~"$host"})`, legend: "{{host}}", instant: true }], options: { displayMode: "gradient", orientation: "horizontal", reduceOptions: { calcs: ["lastNotNull"] } } },
        { title: "Bridge version by host", type: "table", unit: "none", w: 8, targets: [{ expr: `kissbot_bridge_build_info${host}`, instant: true }], transformations: [{ id: "organize", options: { excludeByName: { Time: true, __name__: true, job: true, Value: true } } }] },
      ],
    },
  ],
  [
    {
      name: "host",
      label: "Host",
      type: "query",
      datasource: DS,
      query: { query: 'label_values(up{job="kissbot-bridge"}, host)', refId: "host" },
      definition: 'label_values(up{job="kissbot-bridge"}, host)',
      refresh: 2,
      sort: 1,
      current: {},
      hide: 0,
      includeAll: true,
      allValue: ".*",
      multi: true,
    },
  ],
);

export const DASHBOARDS: Record<string, unknown> = { "kissbot-overview.json": OVERVIEW, "kissbot-bot.json": BOT, "kissbot-fleet.json": FLEET };
export const DASHBOARD_DIR = join(fileURLToPath(import.meta.url), "..", "..", "..", "grafana", "dashboards");
export const render = (d: unknown) => `${JSON.stringify(d, null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, d] of Object.entries(DASHBOARDS)) writeFileSync(join(DASHBOARD_DIR, file), render(d));
}
