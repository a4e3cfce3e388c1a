import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DASHBOARDS, DASHBOARD_DIR, render } from "../../scripts/dashboards.js";
import { CATALOG } from "../../src/metrics/catalog.js";
import { dashboardQueries, metricNames, recordingRuleNames } from "../helpers/promql.js";

type Dashboard = Parameters<typeof dashboardQueries>[0] & { uid: string };

test("the committed dashboards are what scripts/dashboards.ts generates (npm run dashboards)", () => {
  for (const [file, d] of Object.entries(DASHBOARDS)) {
    assert.equal(readFileSync(join(DASHBOARD_DIR, file), "utf8"), render(d), file);
  }
});

test("metricNames finds the metrics of an expression and nothing else", () => {
  assert.deepEqual(metricNames('sum by (model, le) (rate(kissbot_llm_latency_seconds_bucket{channel="$channel"}[$__rate_interval])) * 60'), ["kissbot_llm_latency_seconds_bucket"]);
  assert.deepEqual(metricNames("time() - kissbot_bot_registered_timestamp_seconds == 1 unless on (channel) up"), ["kissbot_bot_registered_timestamp_seconds", "up"]);
});

test("every dashboard query uses only the bridge's catalog and the recording rules", () => {
  // `up`: Prometheus's own, per scrape target (the fleet's bridges).
  const allowed = new Set(["up", ...Object.values(CATALOG).flatMap((m) => (m.type === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])), ...recordingRuleNames()]);
  for (const file of Object.keys(DASHBOARDS)) {
    const d = JSON.parse(readFileSync(join(DASHBOARD_DIR, file), "utf8")) as Dashboard;
    const queries = dashboardQueries(d);
    assert.ok(queries.length >= 10, `${file} has its panels`);
    for (const q of queries) {
      const names = metricNames(q.expr);
      assert.ok(names.length > 0, `${file} "${q.panel}" reads a metric`);
      for (const n of names) assert.ok(allowed.has(n), `${file} "${q.panel}" uses ${n}, which is neither in the catalog nor a recording rule`);
    }
  }
});

test("dashboards have stable uids, and every panel a unit", () => {
  const overview = JSON.parse(readFileSync(join(DASHBOARD_DIR, "kissbot-overview.json"), "utf8")) as Dashboard;
  const bot = JSON.parse(readFileSync(join(DASHBOARD_DIR, "kissbot-bot.json"), "utf8")) as Dashboard & { templating: { list: { name: string; query?: { query: string } }[] } };
  assert.equal(overview.uid, "kissbot-overview");
  assert.equal(bot.uid, "kissbot-bot");
  // The picker lists the bots that exist now: an instant query, not label values over the range.
  assert.equal(bot.templating.list.find((v) => v.name === "channel")?.query?.query, "query_result(max by (channel) (kissbot_bot_up))");
  const stat = (title: string) => bot.panels.find((p) => p.title === title) as unknown as { targets: { instant: boolean; range: boolean }[] };
  for (const title of ["Status", "PID"]) assert.deepEqual(stat(title).targets.map((t) => [t.instant, t.range]), [[true, false]], `${title} shows one current value`);
  for (const d of [overview, bot]) {
    for (const p of d.panels.filter((x) => x.type !== "row")) assert.ok(p.fieldConfig?.defaults?.unit, `${d.uid} "${p.title}" has a unit`);
  }
});
