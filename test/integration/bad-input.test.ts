import { test } from "node:test";
import assert from "node:assert/strict";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { waitFor, sleep } from "../helpers/wait.js";

const good = (n: number) => `{"type":"custom_metric","channel":"after_bad","metric_name":"case_${n}","value":${n}}\n`;

/** Each bad line, with the reason it must be counted under. */
const CASES: [string, string | Buffer][] = [
  ["invalid_json", '{"type": "register", "channel": '],
  ["invalid_json", "garbage"],
  ["invalid_utf8", Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ["not_an_object", "[1, 2, 3]"],
  ["not_an_object", "42"],
  ["not_an_object", "null"],
  ["unknown_type", '{"type":"dance","channel":"a"}'],
  ["missing_field", '{"channel":"a","pid":1}'],
  ["missing_field", '{"type":"register","channel":"a"}'],
  ["missing_field", '{"type":"heartbeat","pid":5}'],
  ["missing_field", '{"type":"llm_usage","channel":"a","feature":"f","tokens_in":1,"tokens_out":1}'],
  ["invalid_field", '{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":"12","tokens_out":1}'],
  ["invalid_field", '{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":1.5,"tokens_out":1}'],
  ["invalid_field", '{"type":"llm_usage","channel":"a","model":"","feature":"f","tokens_in":1,"tokens_out":1}'],
  ["invalid_field", '{"type":"register","channel":"a","pid":7,"features":["llm"]}'],
  ["invalid_field", '{"type":"register","channel":"a","pid":7,"features":{"llm":"yes"}}'],
  ["invalid_field", '{"type":"custom_metric","channel":"a","metric_name":"q","value":"3"}'],
  ["invalid_field", '{"type":"heartbeat","channel":"a","pid":7,"rss_mb":"big"}'],
  ["invalid_channel", '{"type":"register","channel":"bad channel!","pid":7}'],
  ["invalid_channel", `{"type":"register","channel":"${"x".repeat(65)}","pid":7}`],
  ["invalid_channel", '{"type":"register","channel":42,"pid":7}'],
  ["invalid_channel", '{"type":"register","channel":"","pid":7}'],
  ["invalid_pid", '{"type":"register","channel":"a","pid":0}'],
  ["invalid_pid", '{"type":"register","channel":"a","pid":-5}'],
  ["invalid_pid", '{"type":"heartbeat","channel":"a","pid":1.5}'],
  ["invalid_pid", '{"type":"unregister","channel":"a","pid":"123"}'],
  ["negative_value", '{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":-1,"tokens_out":1}'],
  ["negative_value", '{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":1,"tokens_out":1,"latency_ms":-3}'],
  ["empty_line", ""],
  ["empty_line", "   "],
  ["line_too_long", `{"type":"custom_metric","channel":"a","metric_name":"q","value":1,"pad":"${"p".repeat(2000)}"}`],
];

test("every bad line is dropped and counted by reason, and the valid line after it on the same connection lands", async (t) => {
  const bridge = await startBridgeProcess(["--max-line-bytes", "1024"]);
  t.after(() => bridge.stop());
  const s = await openStream(bridge.socket);
  for (const [i, [, bad]] of CASES.entries()) {
    await writeAll(s, Buffer.concat([Buffer.from(bad), Buffer.from("\n"), Buffer.from(good(i))]));
  }
  // An over-long line arriving in small pieces, and a valid line split across writes.
  for (let i = 0; i < 10; i++) await writeAll(s, "x".repeat(300));
  await writeAll(s, `\n${good(100).slice(0, 20)}`);
  await sleep(20);
  await writeAll(s, good(100).slice(20));
  // Unknown extra fields are tolerated, and \r\n line ends work.
  await writeAll(s, '{"type":"custom_metric","channel":"after_bad","metric_name":"extra","value":7,"timestamp":1.5,"source":{"x":1}}\r\n');
  await finish(s);

  const m = await waitFor("all lines processed", async () => {
    const x = await bridge.samples();
    return x.get("kissbot_custom_metric", { channel: "after_bad", name: "extra" }) !== undefined ? x : undefined;
  });
  for (const [i] of CASES.entries()) {
    assert.equal(m.get("kissbot_custom_metric", { channel: "after_bad", name: `case_${i}` }), i, `valid line after case ${i} (${CASES[i]![0]}) landed`);
  }
  assert.equal(m.get("kissbot_custom_metric", { channel: "after_bad", name: "case_100" }), 100);
  const expected = new Map<string, number>();
  for (const [reason] of CASES) expected.set(reason, (expected.get(reason) ?? 0) + 1);
  expected.set("line_too_long", expected.get("line_too_long")! + 1);
  for (const [reason, n] of expected) {
    assert.equal(m.get("kissbot_bridge_rejected_lines_total", { reason }), n, `rejections counted under ${reason}`);
  }
  assert.equal(m.get("kissbot_bridge_messages_total", { message_type: "custom_metric" }), CASES.length + 2);
  assert.equal(m.get("kissbot_bridge_connections_total"), 1, "one connection carried everything");
  // Rejections are logged, but rate-limited: not one log line per bad line.
  const rejectLogs = bridge.logs.filter((l) => l["msg"] === "rejected a line");
  assert.ok(rejectLogs.length > 0 && rejectLogs.length < CASES.length, `${rejectLogs.length} rejection log lines`);
});

test("random garbage never crashes the bridge, and a valid line still lands after it", async (t) => {
  const bridge = await startBridgeProcess(["--max-line-bytes", "512"]);
  t.after(() => bridge.stop());
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const s = await openStream(bridge.socket);
  const fragments = ['{"type":', '"register"', '"channel":', '"pid":', "-1", "1e309", "\\u0000", "{", "}", "[", "]", ",", '"', "null", "true", "\n", "\u00e9", "\ud83d\ude00"];
  for (let i = 0; i < 300; i++) {
    const parts: (string | Buffer)[] = [];
    const n = Math.floor(rand() * 12);
    for (let j = 0; j < n; j++) parts.push(rand() < 0.2 ? Buffer.from([Math.floor(rand() * 256)]) : fragments[Math.floor(rand() * fragments.length)]!);
    await writeAll(s, Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))));
  }
  await writeAll(s, `\n${good(1)}`);
  await finish(s);
  const m = await waitFor("the valid line", async () => {
    const x = await bridge.samples();
    return x.get("kissbot_custom_metric", { channel: "after_bad", name: "case_1" }) === 1 ? x : undefined;
  });
  const rejected = m.series("kissbot_bridge_rejected_lines_total").reduce((sum, l) => sum + m.get("kissbot_bridge_rejected_lines_total", l)!, 0);
  assert.ok(rejected > 0);
  assert.equal(bridge.proc.exitCode, null, "still running");
});

test("past --max-connections, among connections equally idle, the oldest makes room", async (t) => {
  const bridge = await startBridgeProcess(["--max-connections", "3"]);
  t.after(() => bridge.stop());
  // Connected in this order, all at once (the bridge accepts them in the same millisecond, as a
  // burst does), and none has sent a line.
  const held = await Promise.all([0, 1, 2].map(() => openStream(bridge.socket)));
  await waitFor("three open", async () => ((await bridge.samples()).get("kissbot_bridge_open_connections") === 3 ? true : undefined));
  const firstClosed = Promise.race(held.map((s, i) => new Promise<number>((r) => s.once("close", () => r(i)))));
  const extra = await openStream(bridge.socket);
  assert.equal(await firstClosed, 0, "the first to connect was shed");
  await writeAll(extra, good(6));
  await writeAll(held[2]!, good(7));
  await Promise.all([extra, held[1]!, held[2]!].map(finish));
  const m = await waitFor("both lines", async () => {
    const x = await bridge.samples();
    return x.get("kissbot_custom_metric", { channel: "after_bad", name: "case_6" }) === 6 && x.get("kissbot_custom_metric", { channel: "after_bad", name: "case_7" }) === 7 ? x : undefined;
  });
  assert.equal(m.get("kissbot_bridge_dropped_connections_total", { reason: "max_connections" }), 1);
});

test("past --max-connections the idlest connection makes room: a new sender always gets in", async (t) => {
  const bridge = await startBridgeProcess(["--max-connections", "3"]);
  t.after(() => bridge.stop());
  const held = await Promise.all([1, 2, 3].map(() => openStream(bridge.socket)));
  await waitFor("three open", async () => ((await bridge.samples()).get("kissbot_bridge_open_connections") === 3 ? true : undefined));
  // Two of them have sent a line; the first has sent nothing since it connected: the idlest.
  await writeAll(held[1]!, good(1));
  await writeAll(held[2]!, good(2));
  await waitFor("their lines", async () => ((await bridge.samples()).get("kissbot_custom_metric", { channel: "after_bad", name: "case_2" }) === 2 ? true : undefined));
  const shed = new Promise((r) => held[0]!.once("close", r));
  const extra = await openStream(bridge.socket);
  await shed;
  await writeAll(extra, good(5));
  await Promise.all([extra, held[1]!, held[2]!].map(finish));
  const m = await waitFor("the newcomer's line", async () => {
    const x = await bridge.samples();
    return x.get("kissbot_custom_metric", { channel: "after_bad", name: "case_5" }) === 5 ? x : undefined;
  });
  assert.equal(m.get("kissbot_bridge_dropped_connections_total", { reason: "max_connections" }), 1);
  assert.equal(m.get("kissbot_bridge_open_connections"), 0);
});

test("a connection silent for --idle-timeout is closed and counted", async (t) => {
  const bridge = await startBridgeProcess(["--idle-timeout", "0.3"]);
  t.after(() => bridge.stop());
  const s = await openStream(bridge.socket);
  await writeAll(s, good(9).slice(0, 10)); // half a line, then silence
  await new Promise((r) => s.once("close", r));
  const m = await bridge.samples();
  assert.equal(m.get("kissbot_bridge_dropped_connections_total", { reason: "idle_timeout" }), 1);
  assert.equal(m.get("kissbot_bridge_open_connections"), 0);
});
