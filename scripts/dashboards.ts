import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type DataSourceRef,
  type DataTransformerConfig,
  type Threshold,
  type ValueMapping,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { BarGaugeDisplayMode, BigValueColorMode, BigValueGraphMode, BigValueTextMode, LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, SortOrder, TooltipDisplayMode, VisibilityMode, VizLegendOptionsBuilder, VizOrientation, VizTooltipOptionsBuilder } from "@grafana/grafana-foundation-sdk/common";
import { DataqueryBuilder, PromQueryFormat } from "@grafana/grafana-foundation-sdk/prometheus";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as bargauge from "@grafana/grafana-foundation-sdk/bargauge";
import * as statetimeline from "@grafana/grafana-foundation-sdk/statetimeline";
import * as table from "@grafana/grafana-foundation-sdk/table";

/**
 * The Grafana dashboards, as typed code with Grafana's foundation SDK (builders generated from
 * Grafana 11.6's schema: a panel option or field that does not exist is a compile error).
 * `npm run dashboards` writes grafana/dashboards/*.json; a test checks the committed files match,
 * every panel has a unit, and every query uses only the metric catalog and the recording rules;
 * the end-to-end tests run every query on a real Prometheus.
 *
 * What the SDK does not type: transformations (DataTransformerConfig's options are free-form in
 * Grafana's schema too), and a query variable's `definition` (the text Grafana shows for it),
 * which the builder has no method for; Grafana derives it from `query` when missing.
 */

const DS: DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** Panels per row: every panel has a title, a unit, a width (of 24) and its queries. */
type Base = { title: string; unit: string; w: number; h?: number; description?: string };
type Query = { expr: string; legend?: string; instant?: boolean };

const upMappings: ValueMapping[] = [{ type: MappingType.ValueToText, options: { "0": { text: "down", color: "red", index: 0 }, "1": { text: "up", color: "green", index: 1 } } }];
const ageThresholds: Threshold[] = [
  { color: "green", value: null },
  { color: "orange", value: 60 },
  { color: "red", value: 120 },
];
const steps = (s: Threshold[] = [{ color: "green", value: null }]) => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(s);
const last = () => new ReduceDataOptionsBuilder().calcs(["lastNotNull"]);

/** Queries A, B, … on the dashboard's datasource; a table's as tables. */
function queries(qs: Query[], format?: PromQueryFormat): cog.Builder<cog.Dataquery>[] {
  return qs.map((q, i) => {
    const b = new DataqueryBuilder().refId(String.fromCharCode(65 + i)).datasource(DS).expr(q.expr).legendFormat(q.legend ?? "__auto");
    if (format !== undefined) b.format(format);
    return q.instant === true ? b.instant() : b.range();
  });
}

/** What every panel shares; the panel-specific options are set by the callers below. */
function common<T extends { title(t: string): T; description(d: string): T; datasource(d: DataSourceRef): T; unit(u: string): T; span(w: number): T; height(h: number): T; targets(t: cog.Builder<cog.Dataquery>[]): T }>(b: T, p: Base, qs: Query[], format?: PromQueryFormat): T {
  return b.title(p.title).description(p.description ?? "").datasource(DS).unit(p.unit).span(p.w).height(p.h ?? 8).targets(queries(qs, format));
}

function lines(p: Base & { targets: Query[]; thresholds?: Threshold[] }): timeseries.PanelBuilder {
  return common(new timeseries.PanelBuilder(), p, p.targets)
    .thresholds(steps(p.thresholds))
    .mappings([])
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(VisibilityMode.Never)
    .spanNulls(false)
    .legend(new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).showLegend(true))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
}

function single(p: Base & { targets: Query[]; color: BigValueColorMode; text: BigValueTextMode; graph?: BigValueGraphMode; mappings?: ValueMapping[]; thresholds?: Threshold[] }): stat.PanelBuilder {
  return common(new stat.PanelBuilder(), p, p.targets)
    .thresholds(steps(p.thresholds))
    .mappings(p.mappings ?? [])
    .colorMode(p.color)
    .graphMode(p.graph ?? BigValueGraphMode.None)
    .textMode(p.text)
    .reduceOptions(last());
}

function bars(p: Base & { targets: Query[]; display: BarGaugeDisplayMode; thresholds?: Threshold[]; unfilled?: boolean; vizHeight?: [number, number] }): bargauge.PanelBuilder {
  const b = common(new bargauge.PanelBuilder(), p, p.targets).thresholds(steps(p.thresholds)).mappings([]).displayMode(p.display).orientation(VizOrientation.Horizontal).reduceOptions(last());
  if (p.unfilled === true) b.showUnfilled(true);
  if (p.vizHeight !== undefined) b.minVizHeight(p.vizHeight[0]).maxVizHeight(p.vizHeight[1]);
  return b;
}

function states(p: Base & { targets: Query[]; mappings: ValueMapping[] }): statetimeline.PanelBuilder {
  return common(new statetimeline.PanelBuilder(), p, p.targets).thresholds(steps()).mappings(p.mappings).showValue(VisibilityMode.Never);
}

function grid(p: Base & { targets: Query[]; mappings?: ValueMapping[]; organize: DataTransformerConfig }): table.PanelBuilder {
  return common(new table.PanelBuilder(), p, p.targets, PromQueryFormat.Table).thresholds(steps()).mappings(p.mappings ?? []).withTransformation(p.organize);
}

type Panel = timeseries.PanelBuilder | stat.PanelBuilder | bargauge.PanelBuilder | statetimeline.PanelBuilder | table.PanelBuilder;

/** A dashboard of the KissBot set: rows of panels, the Prometheus datasource picker, links to the others. */
function dashboard(uid: string, title: string, description: string, rows: [string, Panel[]][], variables: QueryVariableBuilder[] = []) {
  const d = new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(["kissbot"])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .version(1)
    .withVariable(new DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))
    .link(new DashboardLinkBuilder("KissBot dashboards").type(DashboardLinkType.Dashboards).tags(["kissbot"]).asDropdown(true).includeVars(false).keepTime(true));
  for (const v of variables) d.withVariable(v);
  for (const [name, panels] of rows) {
    d.withRow(new RowBuilder(name));
    for (const p of panels) d.withPanel(p);
  }
  return d.build();
}

/** A channel's spend of the period as a share of its budget: green, orange from 80%, red from 100%. */
function spendVsBudget(period: "day" | "month", title: string, description: string) {
  return bars({
    title,
    unit: "percentunit",
    w: 12,
    description,
    targets: [{ expr: `kissbot_llm_spend_usd{period="${period}"} / on (instance, job, channel, period) kissbot_llm_budget_usd{period="${period}"}`, legend: "{{channel}}", instant: true }],
    thresholds: [
      { color: "green", value: null },
      { color: "orange", value: 0.8 },
      { color: "red", value: 1 },
    ],
    display: BarGaugeDisplayMode.Gradient,
    vizHeight: [10, 24],
  });
}

const topSpenders = (title: string, expr: string, legend: string, description?: string) => bars({ title, unit: "currencyUSD", w: 12, ...(description === undefined ? {} : { description }), targets: [{ expr, legend, instant: true }], display: BarGaugeDisplayMode.Basic });
const rate = (expr: string) => `rate(${expr}[$__rate_interval])`;

export const OVERVIEW = dashboard("kissbot-overview", "KissBot / Overview", "Every KissBot bot at a glance: state, heartbeats, CPU and memory, LLM usage, and the bridge's health.", [
  [
    "Bots",
    [
      single({ title: "Bots by status", unit: "none", w: 6, targets: [{ expr: "sum by (status) (kissbot_bridge_bots)", legend: "{{status}}" }], color: BigValueColorMode.Value, text: BigValueTextMode.ValueAndName }),
      bars({ title: "Heartbeat age by bot", unit: "s", w: 18, description: "Seconds since each bot's last heartbeat. Bots heartbeat every 30 s and are stale after 120 s.", targets: [{ expr: "sort_desc(kissbot_bot_heartbeat_age_seconds)", legend: "{{channel}}", instant: true }], thresholds: ageThresholds, display: BarGaugeDisplayMode.Gradient, unfilled: true }),
      states({ title: "Up", unit: "none", w: 24, description: "1 while the bot's process runs; 0 once it died without unregistering.", targets: [{ expr: "kissbot_bot_up", legend: "{{channel}}" }], mappings: upMappings }),
    ],
  ],
  [
    "Availability",
    [
      bars({
        title: "Availability by bot, 30 days",
        unit: "percentunit",
        w: 12,
        description: "Time online ÷ time online, stale or dead, over 30 days (the shipped recording rules; time stopped, snoozed or unscraped counts neither way): what `kissbot-bridge uptime --since 30d` computes from the bridge's own record.",
        targets: [{ expr: "sort(channel:kissbot_bot_availability:ratio_30d)", legend: "{{channel}}", instant: true }],
        thresholds: [{ color: "red", value: null }, { color: "orange", value: 0.95 }, { color: "yellow", value: 0.99 }, { color: "green", value: 0.999 }],
        display: BarGaugeDisplayMode.Basic,
        unfilled: true,
      }),
      bars({
        title: "Error budget left, 30 days",
        unit: "percentunit",
        w: 12,
        description: "Share of the 30-day error budget (1 − --availability-objective) not yet spent: 100% untouched, 0 spent, below 0 overspent. KissBotErrorBudgetBurnFast and KissBotErrorBudgetBurnSlow page before it runs out.",
        targets: [{ expr: "sort(channel:kissbot_bot_error_budget_remaining:ratio_30d)", legend: "{{channel}}", instant: true }],
        thresholds: [{ color: "red", value: null }, { color: "orange", value: 0 }, { color: "yellow", value: 0.25 }, { color: "green", value: 0.5 }],
        display: BarGaugeDisplayMode.Basic,
        unfilled: true,
      }),
      lines({ title: "Unavailability, last hour (burn-rate window)", unit: "percentunit", w: 24, description: "Share of the last hour each bot was stale or dead: KissBotErrorBudgetBurnFast fires above 14.4 × (1 − objective), 14.4% at 0.99.", targets: [{ expr: "channel:kissbot_bot_unavailability:ratio_rate1h", legend: "{{channel}}" }] }),
    ],
  ],
  [
    "Processes",
    [
      lines({ title: "CPU by bot", unit: "percentunit", w: 12, description: "1.0 = one core.", targets: [{ expr: "kissbot_process_cpu_usage_ratio", legend: "{{channel}}" }] }),
      lines({ title: "Resident memory by bot", unit: "bytes", w: 12, targets: [{ expr: "kissbot_process_resident_memory_bytes", legend: "{{channel}}" }] }),
    ],
  ],
  [
    "LLM usage",
    [
      lines({ title: "Tokens per minute by model and feature", unit: "short", w: 12, targets: [{ expr: "sum by (model, feature) (channel_model_feature:kissbot_llm_tokens:rate5m) * 60", legend: "{{model}} / {{feature}}" }] }),
      lines({ title: "LLM calls per minute by feature", unit: "short", w: 12, targets: [{ expr: "sum by (feature) (channel_model_feature:kissbot_llm_requests:rate5m) * 60", legend: "{{feature}}" }] }),
      lines({
        title: "Latency p50 and p95 by model",
        unit: "s",
        w: 12,
        targets: [
          { expr: "model:kissbot_llm_latency_seconds:p50_5m", legend: "p50 {{model}}" },
          { expr: "model:kissbot_llm_latency_seconds:p95_5m", legend: "p95 {{model}}" },
        ],
      }),
      lines({ title: "Estimated cost per hour by model", unit: "currencyUSD", w: 12, description: "From the estimated_cost that bots report with their LLM calls.", targets: [{ expr: "sum by (model) (channel_model_feature:kissbot_llm_cost_usd:rate5m) * 3600", legend: "{{model}}" }] }),
    ],
  ],
  [
    "LLM spend and budgets",
    [
      spendVsBudget("day", "Spend today vs budget by channel", "Today's spend (from llm_usage, the day starting at midnight in the bridge's --timezone) as a share of each channel's daily budget (--budgets). 80% warns, 100% pages."),
      spendVsBudget("month", "Spend this month vs budget by channel", "This month's spend as a share of each channel's monthly budget."),
      topSpenders("Top spenders today", 'topk(10, kissbot_llm_spend_usd{period="day"})', "{{channel}}", "The ten channels that spent the most today."),
      topSpenders("Top spenders this month by model and feature", 'topk(10, kissbot_llm_spend_detail_usd{period="month"})', "{{channel}} {{model}} / {{feature}}"),
      lines({
        title: "Spend today by channel",
        unit: "currencyUSD",
        w: 12,
        description: "Resets at midnight in the bridge's --timezone; with each channel's daily budget.",
        targets: [
          { expr: 'kissbot_llm_spend_usd{period="day"}', legend: "{{channel}}" },
          { expr: 'kissbot_llm_budget_usd{period="day"}', legend: "{{channel}} budget" },
        ],
      }),
      lines({ title: "LLM calls per minute by channel", unit: "short", w: 12, description: "A loop shows as a cliff: see docs/runbook.md#kissbotllmrunaway.", targets: [{ expr: "channel:kissbot_llm_requests:rate10m * 60", legend: "{{channel}}" }] }),
    ],
  ],
  [
    "Bridge",
    [
      lines({ title: "Messages by type", unit: "ops", w: 8, targets: [{ expr: `sum by (message_type) (${rate("kissbot_bridge_messages_total")})`, legend: "{{message_type}}" }] }),
      lines({ title: "Rejected lines by reason", unit: "ops", w: 8, description: "Lines the bridge could not understand. See docs/runbook.md#kissbotbridgerejectinginput.", targets: [{ expr: `sum by (reason) (${rate("kissbot_bridge_rejected_lines_total")})`, legend: "{{reason}}" }] }),
      lines({
        title: "Ignored messages and dropped connections",
        unit: "ops",
        w: 8,
        targets: [
          { expr: `sum by (reason) (${rate("kissbot_bridge_ignored_messages_total")})`, legend: "ignored: {{reason}}" },
          { expr: `sum by (reason) (${rate("kissbot_bridge_dropped_connections_total")})`, legend: "dropped connection: {{reason}}" },
        ],
      }),
    ],
  ],
]);

const channel = '{channel="$channel"}';
const statBox = { w: 4, h: 5, unit: "none" } as const;

export const BOT = dashboard(
  "kissbot-bot",
  "KissBot / Bot",
  "One KissBot bot in detail, chosen by its channel.",
  [
    [
      "State",
      [
        single({ ...statBox, title: "Status", description: "The bot's status now (an instant query: a range would also show the statuses it had earlier).", targets: [{ expr: `kissbot_bot_status${channel} == 1`, legend: "{{status}}", instant: true }], color: BigValueColorMode.None, text: BigValueTextMode.Name }),
        single({ ...statBox, title: "Up", targets: [{ expr: `kissbot_bot_up${channel}` }], mappings: upMappings, color: BigValueColorMode.Background, text: BigValueTextMode.Auto }),
        single({ ...statBox, title: "Heartbeat age", unit: "s", targets: [{ expr: `kissbot_bot_heartbeat_age_seconds${channel}` }], thresholds: ageThresholds, color: BigValueColorMode.Value, text: BigValueTextMode.Auto, graph: BigValueGraphMode.Area }),
        single({ ...statBox, title: "Registered for", unit: "s", targets: [{ expr: `time() - kissbot_bot_registered_timestamp_seconds${channel}` }], color: BigValueColorMode.None, text: BigValueTextMode.Auto }),
        single({ ...statBox, title: "PID", description: "The PID the bot registered with, now (a restarted bot would show two PIDs over a range).", targets: [{ expr: `kissbot_bot_info${channel}`, legend: "{{pid}}", instant: true }], color: BigValueColorMode.None, text: BigValueTextMode.Name }),
        grid({
          ...statBox,
          title: "Features",
          targets: [{ expr: `kissbot_bot_feature_enabled${channel}`, instant: true }],
          mappings: [{ type: MappingType.ValueToText, options: { "0": { text: "off", index: 0 }, "1": { text: "on", index: 1 } } }],
          organize: { id: "organize", options: { excludeByName: { Time: true, __name__: true, channel: true, instance: true, job: true }, renameByName: { Value: "enabled" } } },
        }),
      ],
    ],
    [
      "Process",
      [
        lines({ title: "CPU", unit: "percentunit", w: 12, description: "1.0 = one core.", targets: [{ expr: `kissbot_process_cpu_usage_ratio${channel}`, legend: "PID {{pid}}" }] }),
        lines({ title: "Resident memory", unit: "bytes", w: 12, targets: [{ expr: `kissbot_process_resident_memory_bytes${channel}`, legend: "PID {{pid}}" }] }),
      ],
    ],
    [
      "LLM usage",
      [
        lines({ title: "Tokens per minute", unit: "short", w: 12, targets: [{ expr: `sum by (model, feature, token_type) (channel_model_feature:kissbot_llm_tokens:rate5m${channel}) * 60`, legend: "{{model}} / {{feature}} {{token_type}}" }] }),
        lines({
          title: "Latency p50 and p95 by model",
          unit: "s",
          w: 12,
          targets: [
            { expr: `channel_model:kissbot_llm_latency_seconds:p50_5m${channel}`, legend: "p50 {{model}}" },
            { expr: `channel_model:kissbot_llm_latency_seconds:p95_5m${channel}`, legend: "p95 {{model}}" },
          ],
        }),
        lines({ title: "Estimated cost per hour", unit: "currencyUSD", w: 12, targets: [{ expr: `sum by (model) (channel_model_feature:kissbot_llm_cost_usd:rate5m${channel}) * 3600`, legend: "{{model}}" }] }),
        lines({ title: "Custom metrics", unit: "short", w: 12, description: "Last value of each custom_metric message.", targets: [{ expr: `kissbot_custom_metric${channel}`, legend: "{{name}}" }] }),
      ],
    ],
  ],
  // The bots that exist now (an instant query), not every channel seen in the time range.
  [new QueryVariableBuilder("channel").label("Channel").datasource(DS).query({ query: "query_result(max by (channel) (kissbot_bot_up))", refId: "channel" }).regex('/channel="([^"]+)"/').refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc).includeAll(false).multi(false)],
);

/** The fleet's filter: the `host` label each bridge's scrape target carries (docs/deploy.md). */
const host = '{host=~"$host"}';
const hostStat = (title: string, expr: string, o: { description?: string; mappings?: ValueMapping[]; thresholds?: Threshold[]; color?: BigValueColorMode } = {}) =>
  single({ title, unit: "none", w: 8, h: 5, ...(o.description === undefined ? {} : { description: o.description }), targets: [{ expr, legend: "{{host}}" }], mappings: o.mappings ?? [], ...(o.thresholds === undefined ? {} : { thresholds: o.thresholds }), color: o.color ?? BigValueColorMode.None, text: BigValueTextMode.ValueAndName });

export const FLEET = dashboard(
  "kissbot-fleet",
  "KissBot / Fleet",
  "Many hosts, one bridge each: every host's bridge and bots side by side, by the host label of its scrape target.",
  [
    [
      "Hosts",
      [
        hostStat("Bridge up by host", `up{job="kissbot-bridge", host=~"$host"}`, { mappings: upMappings, color: BigValueColorMode.Background }),
        hostStat("Bots by host", `sum by (host) (kissbot_bridge_bots${host})`),
        hostStat("Bots not up by host", `sum by (host) (1 - kissbot_bot_up${host})`, { description: "Dead bots, and stale ones whose PID the bridge cannot see.", thresholds: [{ color: "green", value: null }, { color: "red", value: 1 }], color: BigValueColorMode.Background }),
        lines({ title: "Bots by host and status", unit: "none", w: 12, targets: [{ expr: `sum by (host, status) (kissbot_bridge_bots${host})`, legend: "{{host}} {{status}}" }] }),
        lines({ title: "Oldest heartbeat by host", unit: "s", w: 12, targets: [{ expr: `max by (host) (kissbot_bot_heartbeat_age_seconds${host})`, legend: "{{host}}" }], thresholds: ageThresholds }),
        lines({ title: "Messages per second by host", unit: "short", w: 8, targets: [{ expr: `sum by (host) (${rate(`kissbot_bridge_messages_total${host}`)})`, legend: "{{host}}" }] }),
        lines({ title: "Rejected lines per second by host", unit: "short", w: 8, targets: [{ expr: `sum by (host) (${rate(`kissbot_bridge_rejected_lines_total${host}`)})`, legend: "{{host}}" }] }),
        lines({ title: "Open connections by host", unit: "none", w: 8, targets: [{ expr: `sum by (host) (kissbot_bridge_open_connections${host})`, legend: "{{host}}" }] }),
      ],
    ],
    [
      "Resources and LLM",
      [
        lines({ title: "Bots' resident memory by host", unit: "bytes", w: 12, targets: [{ expr: `sum by (host) (kissbot_process_resident_memory_bytes${host})`, legend: "{{host}}" }] }),
        lines({ title: "Bots' CPU by host", unit: "percentunit", w: 12, description: "1.0 = one core.", targets: [{ expr: `sum by (host) (kissbot_process_cpu_usage_ratio${host})`, legend: "{{host}}" }] }),
        lines({ title: "LLM calls per second by host", unit: "short", w: 8, targets: [{ expr: `sum by (host) (${rate(`kissbot_llm_requests_total${host}`)})`, legend: "{{host}}" }] }),
        bars({ title: "LLM spend today by host", unit: "currencyUSD", w: 8, targets: [{ expr: `sum by (host) (kissbot_llm_spend_usd{period="day", host=~"$host"})`, legend: "{{host}}", instant: true }], display: BarGaugeDisplayMode.Gradient }),
        grid({ title: "Bridge version by host", unit: "none", w: 8, targets: [{ expr: `kissbot_bridge_build_info${host}`, instant: true }], organize: { id: "organize", options: { excludeByName: { Time: true, __name__: true, job: true, Value: true } } } }),
      ],
    ],
  ],
  [new QueryVariableBuilder("host").label("Host").datasource(DS).query('label_values(up{job="kissbot-bridge"}, host)').refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc).includeAll(true).allValue(".*").multi(true)],
);

export const DASHBOARDS: Record<string, unknown> = { "kissbot-overview.json": OVERVIEW, "kissbot-bot.json": BOT, "kissbot-fleet.json": FLEET };
export const DASHBOARD_DIR = join(fileURLToPath(import.meta.url), "..", "..", "..", "grafana", "dashboards");
export const render = (d: unknown) => `${JSON.stringify(d, null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, d] of Object.entries(DASHBOARDS)) writeFileSync(join(DASHBOARD_DIR, file), render(d));
}
