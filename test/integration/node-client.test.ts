import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { MonitorClient, featuresToRecord } from "../../src/client/index.js";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";
import { PYTHON } from "../helpers/python.js";

const tempSocket = () => join(mkdtempSync(join(tmpdir(), "kb-client-")), "monitor.sock");

/** A socket server that records every line it receives and never answers. */
async function recorder(path: string): Promise<{ lines: string[]; server: Server }> {
  const lines: string[] = [];
  const server = createServer((s) => {
    let buf = "";
    s.on("data", (d: Buffer) => (buf += d.toString("utf8")));
    s.on("end", () => lines.push(...buf.split("\n").filter((l) => l !== "")));
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { lines, server };
}

test("each method's effect appears in /metrics with exact values", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  const client = new MonitorClient({ channel: "node_bot", pid: process.pid, socketPath: bridge.socket });
  assert.equal(await client.register(new Map([["llm", true], ["music", false]])), true);
  assert.equal(await client.heartbeat(), true);
  assert.equal(await client.logLlmUsage({ model: "gpt-4", feature: "jokes", tokensIn: 145, tokensOut: 87, latencyMs: 1850, estimatedCostUsd: 0.25 }), true);
  assert.equal(await client.logLlmUsage({ model: "gpt-4", feature: "jokes", tokensIn: 5, tokensOut: 3 }), true);
  assert.equal(await client.sendCustomMetric("queue_depth", 3), true);
  const l = { channel: "node_bot", model: "gpt-4", feature: "jokes" };
  const m = await waitFor("all messages", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_custom_metric", { channel: "node_bot", name: "queue_depth" }) === 3 ? s : undefined;
  });
  assert.equal(m.get("kissbot_bot_info", { channel: "node_bot", pid: String(process.pid) }), 1);
  assert.equal(m.get("kissbot_bot_feature_enabled", { channel: "node_bot", feature: "llm" }), 1);
  assert.equal(m.get("kissbot_bot_feature_enabled", { channel: "node_bot", feature: "music" }), 0);
  assert.equal(m.get("kissbot_bridge_messages_total", { message_type: "heartbeat" }), 1);
  assert.equal(m.get("kissbot_llm_requests_total", l), 2);
  assert.equal(m.get("kissbot_llm_tokens_total", { ...l, token_type: "input" }), 150);
  assert.equal(m.get("kissbot_llm_tokens_total", { ...l, token_type: "output" }), 90);
  assert.equal(m.get("kissbot_llm_latency_seconds_count", l), 1);
  assert.equal(m.get("kissbot_llm_latency_seconds_sum", l), 1.85);
  assert.equal(m.get("kissbot_llm_cost_usd_total", { ...l, cost_source: "reported" }), 0.25);
  assert.equal(m.get("kissbot_llm_cost_usd_total", { ...l, cost_source: "computed" }), (5 * 30 + 3 * 60) / 1e6, "the call without a cost, priced from the table");
  assert.equal(await client.unregister(), true);
  await waitFor("unregistered", async () => ((await bridge.samples()).get("kissbot_bot_up", { channel: "node_bot" }) === undefined ? true : undefined));
});

test("the bytes on the wire are the stock Python client's", async (t) => {
  const path = tempSocket();
  const { lines, server } = await recorder(path);
  t.after(() => server.close());
  const py = await PythonBot.start("same_bytes", path);
  t.after(() => py.exit());
  const node = new MonitorClient({ channel: "same_bytes", pid: py.pid, socketPath: path });
  const pairs: [string, () => Promise<boolean>][] = [
    ['register {"llm": true, "caf\\u00e9": false}', () => node.register({ llm: true, café: false })],
    ["heartbeat", () => node.heartbeat()],
    ["llm gpt-4 jokes 145 87 1850", () => node.logLlmUsage({ model: "gpt-4", feature: "jokes", tokensIn: 145, tokensOut: 87, latencyMs: 1850 })],
    ["llm gpt-4 jokes 1 2", () => node.logLlmUsage({ model: "gpt-4", feature: "jokes", tokensIn: 1, tokensOut: 2 })],
    ["unregister", () => node.unregister()],
  ];
  for (const [command, send] of pairs) {
    assert.equal(await py.send(command), "True");
    await waitFor("python line", () => (lines.length % 2 === 1 ? true : undefined));
    assert.equal(await send(), true);
    const [fromPython, fromNode] = await waitFor("node line", () => (lines.length % 2 === 0 ? lines.slice(-2) : undefined));
    assert.equal(fromNode, fromPython, command);
  }
});

test("with no bridge every method resolves false at once and nothing rejects", async () => {
  const client = new MonitorClient({ channel: "alone", pid: process.pid, socketPath: tempSocket() });
  const results = await Promise.all([
    client.register({ llm: true }),
    client.heartbeat(),
    client.logLlmUsage({ model: "m", feature: "f", tokensIn: 1, tokensOut: 1 }),
    client.sendCustomMetric("x", 1),
    client.unregister(),
  ]);
  assert.deepEqual(results, [false, false, false, false, false]);
  await client.stopHeartbeat();
  await client.stopHeartbeat();
});

test("a refused connection (socket file left by a dead server) resolves false", async () => {
  const path = tempSocket();
  spawnSync(PYTHON, ["-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`]);
  const errors: string[] = [];
  const client = new MonitorClient({ channel: "refused", pid: 1, socketPath: path, onError: (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message) });
  assert.equal(await client.register(), false);
  assert.deepEqual(errors, ["ECONNREFUSED"]);
});

test("a server that accepts and never reads: a small message is handed over, one that cannot fit times out to false", async (t) => {
  const path = tempSocket();
  const server = createServer((s) => s.pause());
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => {
    server.close();
  });
  const client = new MonitorClient({ channel: "stuck", pid: 1, socketPath: path, timeoutMs: 300 });
  assert.equal(await client.heartbeat(), true, "a line that fits in the socket buffer has been handed over");
  const huge = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`feature_${i}_${"x".repeat(40)}`, true]));
  const started = Date.now();
  assert.equal(await client.register(huge), false);
  assert.ok(Date.now() - started < 5000, "gave up at the timeout, not never");
});

test("a process that registers and starts a heartbeat, with no bridge, exits on its own without an unhandled rejection", async () => {
  const clientModule = join(REPO_ROOT, "dist", "src", "client", "index.js");
  const script = `
    process.on("unhandledRejection", (e) => { console.error("unhandled", e); process.exit(3); });
    const { MonitorClient } = await import(${JSON.stringify(clientModule)});
    const c = new MonitorClient({ channel: "short_lived", pid: process.pid, socketPath: ${JSON.stringify(tempSocket())} });
    console.log(await c.register({ llm: true }));
    await c.startHeartbeat(0.05);
    await new Promise((r) => setTimeout(r, 300)); // a few heartbeats fire and fail quietly
    console.log("done");`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const code = await new Promise((r) => child.once("exit", (c, signal) => r(signal ?? c)));
  clearTimeout(killer);
  assert.equal(code, 0, "exited by itself, cleanly");
  assert.equal(out, "false\ndone\n");
});

test("the example bot, started before the bridge, shows up; after a bridge restart it shows up again; Ctrl-C unregisters", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-client-"));
  const socket = join(dir, "monitor.sock");
  const bot = spawn(process.execPath, [join(REPO_ROOT, "dist", "examples", "node-bot.js"), "early_bot"], {
    env: { ...process.env, KISSBOT_MONITOR_SOCKET: socket, HEARTBEAT_SECONDS: "0.2" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => bot.kill("SIGKILL"));
  let out = "";
  bot.stdout.on("data", (d: Buffer) => (out += d.toString()));
  bot.stderr.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor("the bot to notice no Monitor", () => (out.includes("Monitor unavailable") ? true : undefined));

  const first = await startBridgeProcess([], { dir, socket });
  await waitFor("the bot in the first bridge", async () => ((await first.samples()).get("kissbot_bot_up", { channel: "early_bot" }) === 1 ? true : undefined));
  assert.equal(await first.stop(), 0);

  const second = await startBridgeProcess([], { dir, socket });
  t.after(() => second.stop());
  const m = await waitFor("the bot in the restarted bridge", async () => {
    const s = await second.samples();
    return s.get("kissbot_bot_info", { channel: "early_bot", pid: String(bot.pid) }) === 1 ? s : undefined;
  });
  assert.equal(m.get("kissbot_bot_up", { channel: "early_bot" }), 1);

  bot.kill("SIGINT");
  await waitFor("the graceful unregister", async () => ((await second.samples()).get("kissbot_bot_up", { channel: "early_bot" }) === undefined ? true : undefined));
  assert.match(out, /unregistered, bye/);
});

test("featuresToRecord takes a Map or an object of flags", () => {
  assert.deepEqual({ ...featuresToRecord(new Map<string, unknown>([["a", true], ["b", 0]])) }, { a: true, b: false });
  assert.deepEqual({ ...featuresToRecord({ x: 1, y: false }) }, { x: true, y: false });
});

test("the client's import graph holds only Node built-ins: no express, prom-client, pino or pidusage", () => {
  const seen = new Set<string>();
  const external: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    for (const m of code.matchAll(/(?:import|export)\s[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith("node:")) external.push(spec);
    }
  };
  visit(join(REPO_ROOT, "dist", "src", "client", "index.js"));
  assert.ok(seen.size >= 3, `walked ${[...seen].join(", ")}`);
  assert.deepEqual(external, []);
});
