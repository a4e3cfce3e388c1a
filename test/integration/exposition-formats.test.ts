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
  assert.match(await landing.text(), /href="\/metrics"/, "the status page links to /metrics");
  assert.equal((await fetch(`${bridge.url}/-/healthy`)).status, 200);
  assert.equal((await fetch(`${bridge.url}/-/ready`)).status, 200);
  assert.equal((await fetch(`${bridge.url}/nope`)).status, 404);
});

/** Sends GET /metrics on a raw TCP connection, reads one chunk of the answer, then stops reading. */
async function slowScrape(url: string): Promise<{ rest(): Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    socket.once("data", (d: Buffer) => {
      chunks.push(d);
      socket.pause();
      resolve();
    });
    socket.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
  });
  return {
    async rest() {
      socket.on("data", (d: Buffer) => chunks.push(d));
      socket.resume();
      await new Promise((r) => socket.once("end", r));
      const all = Buffer.concat(chunks).toString();
      return all.slice(all.indexOf("\r\n\r\n") + 4);
    },
  };
}

test("a scrape still being sent keeps its bytes while later scrapes render (render buffers are reused only once sent)", async (t) => {
  const bridge = await startBridgeProcess(["--max-llm-series", "10000"]);
  t.after(() => bridge.stop());
  // About 20 MB of exposition: far more than the kernel's socket buffers hold for a reader that stopped.
  const usage = (tokens: number) => {
    const lines: string[] = [];
    for (let c = 0; c < 400; c++) {
      for (let m = 0; m < 5; m++) {
        for (let f = 0; f < 5; f++) lines.push(`{"type":"llm_usage","channel":"c${c}","model":"m${m}","feature":"f${f}","tokens_in":${tokens},"tokens_out":0,"latency_ms":100}`);
      }
    }
    return lines.join("\n") + "\n";
  };
  const send = async (data: string) => {
    const s = await openStream(bridge.socket);
    await writeAll(s, data);
    await finish(s);
  };
  const inputTokens = (body: string) => new Samples(body).get("kissbot_llm_tokens_total", { channel: "c399", model: "m4", feature: "f4", token_type: "input" });
  await send(usage(1));
  await waitFor("the first usage", async () => (inputTokens((await bridge.scrape()).body) === 1 ? true : undefined));
  await bridge.scrape(); // a released render buffer is now kept for reuse

  const slow = await slowScrape(bridge.url);
  await send(usage(1));
  await waitFor("the second usage", async () => (inputTokens((await bridge.scrape()).body) === 2 ? true : undefined));
  const fast = (await bridge.scrape()).body;

  const body = await slow.rest();
  const slowSamples = new Samples(body);
  const fastSamples = new Samples(fast);
  let series = 0;
  for (const labels of fastSamples.series("kissbot_llm_requests_total")) {
    series++;
    assert.equal(slowSamples.get("kissbot_llm_requests_total", labels), 1, JSON.stringify(labels));
    assert.equal(fastSamples.get("kissbot_llm_requests_total", labels), 2, JSON.stringify(labels));
  }
  assert.equal(series, 10_000);
  assert.equal(parse("text", body)["kissbot_llm_latency_seconds"]?.type, "histogram", "the slow scrape's body is whole");
});

test("/metrics answers gzip when asked (as Prometheus always asks), the same metrics as uncompressed; not when not asked", async (t) => {
  const { request } = await import("node:http");
  const { gunzipSync } = await import("node:zlib");
  const bridge = await populated();
  t.after(() => bridge.stop());
  const get = (headers: Record<string, string>) =>
    new Promise<{ headers: import("node:http").IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const url = new URL(`${bridge.url}/metrics`);
      request({ host: url.hostname, port: url.port, path: "/metrics", headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on("error", reject).end();
    });
  const zipped = await get({ "accept-encoding": "gzip" });
  assert.equal(zipped.headers["content-encoding"], "gzip");
  assert.equal(zipped.headers["vary"], "Accept-Encoding");
  const plain = await get({});
  assert.equal(plain.headers["content-encoding"], undefined);
  const names = (text: string) => text.split("\n").filter((l) => l.startsWith("# TYPE")).sort();
  assert.deepEqual(names(gunzipSync(zipped.body).toString()), names(plain.body.toString()));
  assert.ok(zipped.body.length < plain.body.length / 3, `${zipped.body.length} of ${plain.body.length} bytes`);
});
