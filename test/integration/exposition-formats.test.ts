import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startBridgeProcess, type BridgeProcess } from "../helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { FIXTURES } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";
import { CATALOG } from "../../src/metrics/catalog.js";

type Parsed = Record<string, { type: string; samples: Record<string, number> }>;

/** The reference parser runs under Debian's python3, where python3-prometheus-client lives. */
function parse(format: "text" | "openmetrics", body: string): Parsed {
  const r = spawnSync("/usr/bin/python3", [join(FIXTURES, "parse_exposition.py"), format], { input: body, encoding: "utf8" });
  assert.equal(r.status, 0, `the ${format} parser rejected the exposition: ${r.stderr}`);
  return JSON.parse(r.stdout) as Parsed;
}

async function populated(): Promise<BridgeProcess> {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  const s = await openStream(bridge.socket);
  await writeAll(s, [
    `{"type":"register","channel":"fmt","pid":${process.pid},"features":{"llm":true,"quote\\"back\\\\slash":false}}`,
    '{"type":"heartbeat","channel":"fmt","pid":' + process.pid + "}",
    '{"type":"llm_usage","channel":"fmt","model":"gpt-4o \\"mini\\"\\nv2","feature":"jokes 😀","tokens_in":10,"tokens_out":5,"latency_ms":120,"estimated_cost":0.002}',
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

test("promtool check metrics accepts the text exposition", async (t) => {
  const bridge = await populated();
  t.after(() => bridge.stop());
  const body = (await bridge.scrape()).body;
  const r = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
  assert.equal(r.error, undefined, "promtool is installed (.ci/run installs Debian's prometheus)");
  // promtool exits 1 when it cannot parse, 3 on lint findings. prom-client's default
  // nodejs_*_total gauges draw findings we do not own; our own families must draw none.
  const output = `${r.stdout}${r.stderr}`;
  assert.doesNotMatch(output, /error while linting/);
  assert.notEqual(r.status, 1, output);
  assert.deepEqual(output.split("\n").filter((l) => l.startsWith("kissbot_")), []);
});

test("/, /-/healthy and /-/ready answer", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  const landing = await fetch(`${bridge.url}/`);
  assert.equal(landing.status, 200);
  assert.match(await landing.text(), /href="metrics"/);
  assert.equal((await fetch(`${bridge.url}/-/healthy`)).status, 200);
  assert.equal((await fetch(`${bridge.url}/-/ready`)).status, 200);
  assert.equal((await fetch(`${bridge.url}/nope`)).status, 404);
});
