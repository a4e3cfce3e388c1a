import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { startBridgeProcess, type BridgeProcess } from "../helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { OtlpReceiver, type Export } from "../helpers/otlp-receiver.js";
import { FIXTURES } from "../helpers/paths.js";
import { freePort } from "../helpers/services.js";
import { Samples } from "../helpers/samples.js";
import { waitFor, sleep } from "../helpers/wait.js";
import { parseCommandLine } from "../../src/config/config.js";
import { startBridge } from "../../src/main.js";
import { TOKEN_USAGE_BUCKETS, OPERATION_DURATION_BUCKETS } from "../../src/otel/genai.js";
import { createLogger } from "../../src/log/logger.js";
import { PYTHON } from "../helpers/python.js";

const llm = (channel: string, model: string, tin: number, tout: number, latency?: number, extra = "") =>
  `{"type":"llm_usage","channel":"${channel}","model":"${model}","feature":"jokes","tokens_in":${tin},"tokens_out":${tout}${latency === undefined ? "" : `,"latency_ms":${latency}`}${extra}}\n`;

async function send(bridge: BridgeProcess, lines: string[]): Promise<void> {
  const s = await openStream(bridge.socket);
  await writeAll(s, lines.join(""));
  await finish(s);
}

function tokenSum(e: Export, channel: string, model: string, type: string): number | undefined {
  return e.metrics.get("gen_ai.client.token.usage")?.points.find((p) => p.attributes["kissbot.channel"] === channel && p.attributes["gen_ai.request.model"] === model && p.attributes["gen_ai.token.type"] === type)?.sum;
}

for (const protocol of ["http/json", "http/protobuf"] as const) {
  test(`OTLP push (${protocol}): token usage and durations with GenAI attributes, resource, headers`, async (t) => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    t.after(() => receiver.stop());
    const bridge = await startBridgeProcess([], {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer s3cret",
        OTEL_METRIC_EXPORT_INTERVAL: "300",
        OTEL_SERVICE_NAME: "kissbot-bridge-eu1",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
      },
    });
    t.after(() => bridge.stop());
    await send(bridge, [
      `{"type":"register","channel":"otel_bot","pid":${process.pid}}\n`,
      llm("otel_bot", "gpt-4o", 145, 87, 1850),
      llm("otel_bot", "gpt-4o", 100, 50, 90),
      llm("otel_bot", "claude-3-opus", 10, 20, undefined, ',"operation":"text_completion"'),
    ]);
    const e = await waitFor("an export with all three calls", () => {
      const x = receiver.latest("gen_ai.client.token.usage");
      return x !== undefined && tokenSum(x, "otel_bot", "claude-3-opus", "output") === 20 && tokenSum(x, "otel_bot", "gpt-4o", "input") === 245 ? x : undefined;
    });
    assert.match(e.contentType, protocol === "http/json" ? /application\/json/ : /application\/x-protobuf/);
    assert.equal(e.headers["authorization"], "Bearer s3cret");
    assert.equal(e.resource["service.name"], "kissbot-bridge-eu1", "OTEL_SERVICE_NAME wins");
    assert.equal(e.resource["service.version"], "0.1.0");
    assert.match(String(e.resource["service.instance.id"]), /^[0-9a-f-]{36}$/);
    assert.equal(typeof e.resource["host.name"], "string");
    assert.equal(e.resource["deployment.environment.name"], "test");

    const usage = e.metrics.get("gen_ai.client.token.usage")!;
    assert.equal(usage.unit, "{token}");
    const gptIn = usage.points.find((p) => p.attributes["gen_ai.request.model"] === "gpt-4o" && p.attributes["gen_ai.token.type"] === "input")!;
    assert.deepEqual(gptIn.attributes, {
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.provider.name": "openai",
      "gen_ai.token.type": "input",
      "kissbot.feature": "jokes",
      "kissbot.channel": "otel_bot",
    });
    assert.equal(gptIn.count, 2);
    assert.deepEqual(gptIn.bounds, TOKEN_USAGE_BUCKETS);
    assert.equal(tokenSum(e, "otel_bot", "gpt-4o", "output"), 137);
    const claude = usage.points.find((p) => p.attributes["gen_ai.request.model"] === "claude-3-opus")!;
    assert.equal(claude.attributes["gen_ai.operation.name"], "text_completion");
    assert.equal(claude.attributes["gen_ai.provider.name"], "anthropic");

    const duration = e.metrics.get("gen_ai.client.operation.duration")!;
    assert.equal(duration.unit, "s");
    assert.deepEqual(duration.points.map((p) => [p.attributes["gen_ai.request.model"], p.count]), [["gpt-4o", 2]], "only calls with a latency");
    assert.ok(Math.abs(duration.points[0]!.sum! - 1.94) < 1e-9, "the SDK sums seconds as doubles");
    assert.deepEqual(duration.points[0]!.bounds, OPERATION_DURATION_BUCKETS);

    assert.equal(e.metrics.get("kissbot.bot.up")?.points[0]?.value, 1);
    assert.equal(e.metrics.get("kissbot.bot.heartbeat.age")?.unit, "s");
    const mem = await waitFor("process memory", () => receiver.latest("process.memory.usage")?.metrics.get("process.memory.usage"));
    assert.equal(mem.unit, "By");
    assert.deepEqual(mem.points[0]!.attributes, { "kissbot.channel": "otel_bot", "process.pid": process.pid });
    assert.ok(e.metrics.get("kissbot.bridge.messages")!.points.some((p) => p.attributes["kissbot.message.type"] === "llm_usage" && p.value === 3));
    const m = await bridge.samples();
    assert.ok(m.get("kissbot_bridge_otlp_exports_total", { result: "success" })! > 0);
    assert.equal(m.get("kissbot_bridge_otlp_exports_total", { result: "failure" }), 0);
  });
}

test("SIGTERM flushes the last interval before the bridge exits", async (t) => {
  const receiver = new OtlpReceiver();
  await receiver.start();
  t.after(() => receiver.stop());
  // An interval far longer than the test: only the shutdown flush can deliver these.
  const bridge = await startBridgeProcess([], { env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.endpoint}/v1/metrics`, OTEL_METRIC_EXPORT_INTERVAL: "600000" } });
  await send(bridge, [llm("flush_bot", "gpt-4o", 7, 3, 120)]);
  await waitFor("the message to land", async () => ((await bridge.samples()).get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 1 ? true : undefined));
  assert.equal(receiver.exports.length, 0);
  assert.equal(await bridge.stop(), 0);
  const e = receiver.latest("gen_ai.client.token.usage");
  assert.ok(e, "the final export arrived before exit");
  assert.equal(tokenSum(e, "flush_bot", "gpt-4o", "input"), 7);
});

test("/otel/metrics parses as Prometheus text and carries the same token totals as /metrics; gone bots vanish", async (t) => {
  const bridge = await startBridgeProcess(["--otel-prometheus", "--genai-providers", "llama=meta,my-=acme"]);
  t.after(() => bridge.stop());
  await send(bridge, [
    `{"type":"register","channel":"a_bot","pid":${process.pid}}\n`,
    `{"type":"register","channel":"leaving","pid":${process.pid}}\n`,
    llm("a_bot", "gpt-4o", 145, 87, 1850),
    llm("a_bot", "llama3-70b", 11, 22, 30),
    llm("leaving", "my-model", 1, 2),
  ]);
  await waitFor("messages", async () => ((await bridge.samples()).get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 3 ? true : undefined));
  const res = await fetch(`${bridge.url}/otel/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const parsed = spawnSync(PYTHON, [join(FIXTURES, "parse_exposition.py"), "text"], { input: text, encoding: "utf8" });
  assert.equal(parsed.status, 0, parsed.stderr);
  assert.equal((JSON.parse(parsed.stdout) as Record<string, { type: string }>)["gen_ai_client_token_usage"]?.type, "histogram");

  const otel = new Samples(text);
  const prom = await bridge.samples();
  for (const [model, provider] of [["gpt-4o", "openai"], ["llama3-70b", "meta"]] as const) {
    for (const type of ["input", "output"]) {
      const otelSum = otel.get("gen_ai_client_token_usage_sum", { gen_ai_operation_name: "chat", gen_ai_request_model: model, gen_ai_provider_name: provider, gen_ai_token_type: type, kissbot_channel: "a_bot", kissbot_feature: "jokes" });
      assert.equal(otelSum, prom.get("kissbot_llm_tokens_total", { channel: "a_bot", model, feature: "jokes", token_type: type }), `${model} ${type}`);
    }
  }
  assert.equal(otel.get("kissbot_bot_up", { kissbot_channel: "leaving" }), 1);
  assert.ok(otel.series("gen_ai_client_token_usage_sum").some((l) => l["gen_ai_provider_name"] === "acme"), "configured providers apply");

  await send(bridge, [`{"type":"unregister","channel":"leaving","pid":${process.pid}}\n`]);
  await waitFor("the unregistered bot to vanish from /otel/metrics", async () => {
    const after = new Samples(await (await fetch(`${bridge.url}/otel/metrics`)).text());
    return after.get("kissbot_bot_up", { kissbot_channel: "leaving" }) === undefined && after.get("kissbot_bot_up", { kissbot_channel: "a_bot" }) === 1 ? true : undefined;
  });
});

test("with the OTel options off, no OpenTelemetry sink, reader or route exists", async (t) => {
  const parsed = parseCommandLine(["--socket", join(mkdtempSync(join(tmpdir(), "kb-otel-")), "s.sock"), "--listen", "127.0.0.1:0", "--no-db", "--no-channel-logs"], {});
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  assert.deepEqual(parsed.config.otel, { otlp: null, prometheus: false, providers: [], genai: "v1.41" });
  const bridge = await startBridge(parsed.config, createLogger("silent"));
  t.after(() => bridge.stop());
  assert.equal(bridge.otel, undefined);
  const res = await fetch(`http://127.0.0.1:${bridge.httpAddress.port}/otel/metrics`);
  assert.equal(res.status, 404);
  // The same configuration with an endpoint does build one: the check above can fail.
  const on = parseCommandLine([], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" });
  assert.equal(on.kind === "run" && on.config.otel.otlp?.protocol, "http/protobuf");
});

test("an unsupported OTLP protocol is refused at start with one line", () => {
  const r = parseCommandLine([], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
  assert.deepEqual(r, { kind: "error", message: 'unsupported OTLP protocol "grpc": use http/protobuf or http/json' });
});

test("an unreachable OTLP endpoint: failures are counted and logged, ingest and /metrics carry on, memory stays bounded", async (t) => {
  const deadPort = await freePort();
  const bridge = await startBridgeProcess([], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${deadPort}`, OTEL_METRIC_EXPORT_INTERVAL: "100", OTEL_METRIC_EXPORT_TIMEOUT: "100" } });
  t.after(() => bridge.stop());
  const heap = async () => (await bridge.samples()).get("nodejs_heap_size_used_bytes")!;
  await waitFor("first failures", async () => ((await bridge.samples()).get("kissbot_bridge_otlp_exports_total", { result: "failure" })! >= 3 ? true : undefined));
  const heapEarly = await heap();
  for (let round = 0; round < 20; round++) {
    await send(bridge, Array.from({ length: 50 }, (_, i) => llm(`bot_${i % 5}`, "gpt-4o", i, i, 100)));
    await sleep(100);
  }
  const m = await waitFor("all messages", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 1000 ? s : undefined;
  });
  assert.ok(m.get("kissbot_bridge_otlp_exports_total", { result: "failure" })! >= 15, "every interval's export failed and was counted");
  assert.equal(m.get("kissbot_bridge_otlp_exports_total", { result: "success" }), 0);
  assert.equal(m.get("kissbot_llm_tokens_total", { channel: "bot_0", model: "gpt-4o", feature: "jokes", token_type: "input" }), 20 * (0 + 5 + 10 + 15 + 20 + 25 + 30 + 35 + 40 + 45));
  const growth = (await heap()) - heapEarly;
  assert.ok(growth < 30 * 1024 * 1024, `heap grew by ${Math.round(growth / 1024 / 1024)} MiB over ${m.get("kissbot_bridge_otlp_exports_total", { result: "failure" })} failed exports`);
  const failureLogs = bridge.logs.filter((l) => l["msg"] === "OTLP export failed");
  assert.ok(failureLogs.length >= 1 && failureLogs.length <= 10, `failures logged, rate-limited (${failureLogs.length} lines)`);
});

test("cardinality: models past --max-label-values go to the channel's overflow series in both sinks, counted, and the bridge stays healthy", async (t) => {
  const bridge = await startBridgeProcess(["--otel-prometheus", "--max-label-values", "3"]);
  t.after(() => bridge.stop());
  await send(bridge, Array.from({ length: 8 }, (_, i) => llm("many_models", `model_${i}`, 10, 1)));
  const m = await waitFor("messages", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 8 ? s : undefined;
  });
  assert.equal(m.get("kissbot_bridge_label_values_refused_total", { label: "model" }), 5);
  assert.equal(m.get("kissbot_bridge_ignored_messages_total", { reason: "label_limit" }), 0, "counted, not ignored");
  assert.deepEqual(m.series("kissbot_llm_requests_total").map((l) => l["model"]).sort(), ["__overflow__", "model_0", "model_1", "model_2"]);
  assert.equal(m.get("kissbot_llm_requests_total", { channel: "many_models", model: "__overflow__", feature: "__overflow__" }), 5);
  const otel = new Samples(await (await fetch(`${bridge.url}/otel/metrics`)).text());
  const models = new Set(otel.series("gen_ai_client_token_usage_count").map((l) => l["gen_ai_request_model"]));
  assert.deepEqual([...models].sort(), ["__overflow__", "model_0", "model_1", "model_2"]);
  // Known models keep counting.
  await send(bridge, [llm("many_models", "model_1", 5, 5)]);
  await waitFor("a known model still counts", async () => ((await bridge.samples()).get("kissbot_llm_requests_total", { channel: "many_models", model: "model_1", feature: "jokes" }) === 2 ? true : undefined));
  assert.equal((await fetch(`${bridge.url}/-/healthy`)).status, 200);
});

test("OTLP across hosts: over TLS to a collector with a private CA (OTEL_EXPORTER_OTLP_CERTIFICATE), with its authentication header (OTEL_EXPORTER_OTLP_HEADERS)", async (t) => {
  const { createServer } = await import("node:https");
  const { mkdtempSync, readFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { makeCerts } = await import("../helpers/certs.js");
  const dir = mkdtempSync(join(tmpdir(), "kb-otlp-tls-"));
  const certs = makeCerts(dir, ["127.0.0.1"]);
  const seen: { path: string; authorization: string | undefined; bytes: number }[] = [];
  const collector = createServer({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) }, (req, res) => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", authorization: req.headers.authorization, bytes });
      res.writeHead(req.headers.authorization === "Bearer s3cret" ? 200 : 401).end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
  t.after(() => collector.close());
  const port = (collector.address() as { port: number }).port;
  const bridge = await startBridgeProcess([], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20s3cret", OTEL_EXPORTER_OTLP_CERTIFICATE: certs.ca, OTEL_METRIC_EXPORT_INTERVAL: "200" },
  });
  t.after(() => bridge.stop());
  await waitFor("an export over TLS", () => (seen.length > 0 ? true : undefined), 10_000);
  assert.equal(seen[0]!.path, "/v1/metrics");
  assert.equal(seen[0]!.authorization, "Bearer s3cret");
  assert.ok(seen[0]!.bytes > 0);
  await waitFor("counted as a success", async () => ((await bridge.samples()).get("kissbot_bridge_otlp_exports_total", { result: "success" })! >= 1 ? true : undefined));
});

for (const [optIn, expect] of [
  ["gen_ai_latest_experimental", "latest"],
  ["http,gen_ai_latest_experimental/dup", "both"],
] as const) {
  test(`OTEL_SEMCONV_STABILITY_OPT_IN=${optIn}: the GenAI repository's current instruments${expect === "both" ? ", beside the v1.41 ones" : " instead of the v1.41 ones"}; cost under kissbot.llm.cost`, async (t) => {
    const receiver = new OtlpReceiver();
    await receiver.start();
    t.after(() => receiver.stop());
    const bridge = await startBridgeProcess([], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL: "300", OTEL_SEMCONV_STABILITY_OPT_IN: optIn } });
    t.after(() => bridge.stop());
    await send(bridge, [`{"type":"register","channel":"new_bot","pid":${process.pid}}\n`, llm("new_bot", "gpt-4o", 145, 87, 1850), llm("new_bot", "gpt-4o", 100, 50, 90)]);
    const e = await waitFor("an export with both calls", () => {
      const x = receiver.latest("gen_ai.client.inference.usage.input_tokens");
      return x?.metrics.get("gen_ai.client.inference.usage.input_tokens")?.points[0]?.value === 245 ? x : undefined;
    });
    const input = e.metrics.get("gen_ai.client.inference.usage.input_tokens")!;
    assert.equal(input.unit, "{token}");
    assert.deepEqual(input.points[0]!.attributes, { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai", "gen_ai.token.modality": "text", "kissbot.feature": "jokes", "kissbot.channel": "new_bot" });
    assert.equal(e.metrics.get("gen_ai.client.inference.usage.output_tokens")!.points[0]!.value, 137);
    const perCall = e.metrics.get("gen_ai.client.inference.operation.input_tokens")!;
    assert.deepEqual([perCall.points[0]!.count, perCall.points[0]!.sum, perCall.points[0]!.attributes["gen_ai.token.modality"]], [2, 245, undefined]);
    const duration = e.metrics.get("gen_ai.client.inference.duration")!;
    assert.deepEqual([duration.unit, duration.points[0]!.count, duration.points[0]!.bounds], ["s", 2, OPERATION_DURATION_BUCKETS]);
    const cost = e.metrics.get("kissbot.llm.cost")!;
    assert.equal(cost.unit, "{USD}");
    assert.ok(Math.abs(cost.points[0]!.value! - (245 * 2.5 + 137 * 10) / 1e6) < 1e-12, "priced by the table: gpt-4o at 2.50 / 10 USD per 1M");
    assert.equal(cost.points[0]!.attributes["kissbot.cost.source"], "computed");
    const old = ["gen_ai.client.token.usage", "gen_ai.client.operation.duration"].filter((n) => e.metrics.has(n));
    assert.deepEqual(old, expect === "both" ? ["gen_ai.client.token.usage", "gen_ai.client.operation.duration"] : []);
  });
}

test("without the opt-in, only the v1.41 GenAI instruments (and kissbot.llm.cost)", async (t) => {
  const receiver = new OtlpReceiver();
  await receiver.start();
  t.after(() => receiver.stop());
  const bridge = await startBridgeProcess([], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL: "300" } });
  t.after(() => bridge.stop());
  await send(bridge, [`{"type":"register","channel":"old_bot","pid":${process.pid}}\n`, llm("old_bot", "gpt-4o", 10, 5, 100)]);
  const e = await waitFor("an export", () => receiver.latest("gen_ai.client.token.usage"));
  assert.deepEqual([...e.metrics.keys()].filter((n) => n.startsWith("gen_ai.")).sort(), ["gen_ai.client.operation.duration", "gen_ai.client.token.usage"]);
  assert.ok(e.metrics.has("kissbot.llm.cost"));
});
