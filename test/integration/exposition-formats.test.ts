import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connect } from "node:net";
import { startBridgeProcess, type BridgeProcess } from "../helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { FIXTURES } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";
import { Samples } from "../helpers/samples.js";
import { CATALOG } from "../../src/metrics/catalog.js";
import { PYTHON } from "../helpers/python.js";

type Parsed = Record<string, { type: string; samples: Record<string, number> }>;

/** The reference parser runs under Debian's python3, where python3-prometheus-client lives. */
function parse(format: "text" | "openmetrics", body: string): Parsed {
  const r = spawnSync(PYTHON, [join(FIXTURES, "parse_exposition.py"), format], { input: body, encoding: "utf8" });
  assert.equal(r.status, 0, `the ${format} parser rejected the exposition: ${r.stderr}`);
  return JSON.parse(r.stdout) as Parsed;
}

async function populated(): Promise<BridgeProcess> {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  const s = await openStream(bridge.socket);
  await writeAll(s, [
    `{"type":"register","channel":"fmt","pid":${process.pid},"features":{"llm":true,"quote\\"back\\\\slash":false}}`,
    '{"type":"heartbeat","channel":"fmt","pid":' + process.pid + "}",
    // Quotes and backslashes are escaped in label values (a newline is rejected as invalid_text).
    '{"type":"llm_usage","channel":"fmt","model":"gpt-4o \\"mini\\" \\\\ v2","feature":"jokes 😀","tokens_in":10,"tokens_out":5,"latency_ms":120,"estimated_cost":0.002}',
    '{"type":"custom_metric","channel":"fmt","metric_name":"queue depth","value":-1.5e-7}',
    "not json",
  ].join("\n") + "\n");
  await finish(s);
  await waitFor("samples of the test process", async () => ((await bridge.samples()).get("kissbot_process_cpu_usage_ratio", { channel: "fmt", pid: String(process.pid) }) !== undefined ? true : undefined));
  return bridge;
}

test("/metrics parses as Prometheus text and as OpenMetrics with the reference parsers, with every catalog family", async (t) => {
  const bridge = await populated();
  t.after(() => bridge.stop());

  const text = await bridge.scrape();
  assert.equal(text.contentType, "text/plain; version=0.0.4; charset=utf-8");
  const om = await bridge.scrape("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  assert.equal(om.contentType, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  assert.ok(om.body.endsWith("# EOF\n"));
  // A text scrape after an OpenMetrics one: prom-client's own counters keep their _total.
  const textAgain = await bridge.scrape("text/plain");

  const parsedText = parse("text", text.body);
  const parsedOm = parse("openmetrics", om.body);
  const parsedAgain = parse("text", textAgain.body);
  for (const spec of Object.values(CATALOG)) {
    const omName = spec.type === "counter" ? spec.name.replace(/_total$/, "") : spec.name;
    assert.equal(parsedOm[omName]?.type, spec.type, `${spec.name} in OpenMetrics`);
    const textName = spec.type === "counter" ? omName : spec.name; // the parser strips _total too
    assert.equal(parsedText[textName]?.type, spec.type, `${spec.name} in text`);
  }
  assert.equal(parsedOm["kissbot_llm_tokens"]!.samples["kissbot_llm_tokens_total"], 2);
  assert.equal(parsedOm["kissbot_llm_latency_seconds"]!.samples["kissbot_llm_latency_seconds_bucket"], 15);
  assert.ok(parsedOm["process_cpu_seconds"]?.samples["process_cpu_seconds_total"], "prom-client counters in OpenMetrics");
  assert.ok(parsedAgain["process_cpu_seconds"]?.samples["process_cpu_seconds_total"], "prom-client counters in text after an OpenMetrics render");
  assert.match(textAgain.body, /^process_cpu_seconds_total /m);
  assert.equal(parsedText["nodejs_version_info"]?.type, "gauge");
});

test("promtool check metrics finds nothing in the exposition of a bridge with bots, LLM usage and custom metrics", async (t) => {
  const bridge = await populated();
  t.after(() => bridge.stop());
  const body = (await bridge.scrape()).body;
  const r = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
  assert.equal(r.error, undefined, "promtool is installed (.ci/run installs Debian's prometheus)");
  // promtool exits 1 when it cannot parse, 3 on lint findings, 0 with nothing to say.
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), "");
  // What the three renamed gauges said is still there, by type.
  assert.match(body, /^nodejs_active_handles\{type="[A-Za-z]+"\} \d+$/m);
  assert.doesNotMatch(body, /^nodejs_active_(handles|requests|resources)_total/m);
});

/** Accept headers of Prometheus 3.x (its scrape code, v3.14) and of Debian's 2.42, and the Content-Type each must get. */
const SCRAPERS = [
  ["Prometheus 3", "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8", "openmetrics"],
  ["Prometheus 3, text first (scrape_protocols: [PrometheusText1.0.0])", "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.2", "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8", "text"],
  ["Prometheus 3, underscores", "application/openmetrics-text;version=1.0.0;escaping=underscores", "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores", "openmetrics"],
  ["Prometheus 2.42", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "application/openmetrics-text; version=1.0.0; charset=utf-8", "openmetrics"],
  ["a browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/plain; version=0.0.4; charset=utf-8", "text"],
  ["protobuf only", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "text/plain; version=0.0.4; charset=utf-8", "text"],
] as const;

test("Prometheus 3's and 2's Accept headers each get a Content-Type they read, with the version and escaping asked, and a body the reference parsers read (OpenMetrics ending in # EOF)", async (t) => {
  const bridge = await populated();
  t.after(() => bridge.stop());
  let reference: Parsed | undefined;
  for (const [who, accept, contentType, parser] of SCRAPERS) {
    const r = await bridge.scrape(accept);
    assert.equal(r.contentType, contentType, who);
    if (parser === "openmetrics") assert.ok(r.body.endsWith("# EOF\n"), `${who}: # EOF`);
    const parsed = parse(parser, r.body);
    assert.ok(parsed["kissbot_llm_tokens"] !== undefined && parsed["kissbot_bot_up"] !== undefined, who);
    if (parser === "openmetrics") {
      reference ??= parsed;
      assert.deepEqual(Object.keys(parsed).filter((k) => k.startsWith("kissbot_")).sort(), Object.keys(reference).filter((k) => k.startsWith("kissbot_")).sort(), `${who}: the same families whatever the escaping`);
    }
  }
});
