import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeLine } from "../../src/protocol/decode.js";

const ok = (line: string) => {
  const r = decodeLine(Buffer.from(line));
  assert.ok(r.ok, `${line} should decode: ${r.ok ? "" : r.detail}`);
  return r.message;
};

test("decodes each message type into its validated form", () => {
  assert.deepEqual(ok('{"type":"register","channel":"el_serda","pid":42,"features":{"llm":true,"music":false}}'), {
    type: "register",
    channel: "el_serda",
    pid: 42,
    features: Object.assign(Object.create(null), { llm: true, music: false }),
  });
  assert.deepEqual(ok('{"type":"register","channel":"a","pid":1}'), { type: "register", channel: "a", pid: 1, features: null });
  assert.deepEqual(ok('{"type":"heartbeat","channel":"a","pid":1,"rss_mb":12.5,"cpu_pct":3}'), { type: "heartbeat", channel: "a", pid: 1, rssMb: 12.5, cpuPct: 3 });
  assert.deepEqual(ok('{"type":"unregister","channel":"a","pid":1}'), { type: "unregister", channel: "a", pid: 1 });
  assert.deepEqual(ok('{"type":"llm_usage","channel":"a","model":"gpt-4","feature":"jokes","tokens_in":145,"tokens_out":87,"latency_ms":null,"estimated_cost":0.01}'), {
    type: "llm_usage",
    channel: "a",
    model: "gpt-4",
    feature: "jokes",
    tokensIn: 145,
    tokensOut: 87,
    latencyMs: null,
    estimatedCostUsd: 0.01,
    operation: null,
  });
  assert.deepEqual(ok('{"type":"custom_metric","channel":"a","metric_name":"q","value":-2.5}'), { type: "custom_metric", channel: "a", metricName: "q", value: -2.5 });
});

test("a feature flag named __proto__ stays an ordinary flag", () => {
  const m = ok('{"type":"register","channel":"a","pid":1,"features":{"__proto__":true}}');
  assert.equal(m.type === "register" && m.features?.["__proto__"], true);
  assert.deepEqual(Object.keys(m.type === "register" ? m.features ?? {} : {}), ["__proto__"]);
});

const REJECTED: [string, string][] = [
  ["\xff", "invalid_utf8"],
  ["", "empty_line"],
  ["{", "invalid_json"],
  ['"x"', "not_an_object"],
  ["[]", "not_an_object"],
  ['{"channel":"a"}', "missing_field"],
  ['{"type":"x","channel":"a"}', "unknown_type"],
  ['{"type":"heartbeat","channel":"a b","pid":1}', "invalid_channel"],
  ['{"type":"heartbeat","channel":"a","pid":2147483648}', "invalid_pid"],
  ['{"type":"heartbeat","channel":"a","pid":true}', "invalid_pid"],
  ['{"type":"heartbeat","channel":"a","pid":1,"cpu_pct":-1}', "negative_value"],
  ['{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":1,"tokens_out":9007199254740993}', "invalid_field"],
  [`{"type":"llm_usage","channel":"a","model":"${"m".repeat(129)}","feature":"f","tokens_in":1,"tokens_out":1}`, "invalid_field"],
  [`{"type":"register","channel":"a","pid":1,"features":{${Array.from({ length: 65 }, (_, i) => `"f${i}":true`).join(",")}}}`, "invalid_field"],
  // Numbers have ranges, so no sum can become infinite.
  ['{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":1000000001,"tokens_out":1}', "out_of_range"],
  ['{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":1,"tokens_out":1,"latency_ms":1e308}', "out_of_range"],
  ['{"type":"llm_usage","channel":"a","model":"m","feature":"f","tokens_in":1,"tokens_out":1,"estimated_cost":1e308}', "out_of_range"],
  ['{"type":"heartbeat","channel":"a","pid":1,"rss_mb":1e308}', "out_of_range"],
  // Text that would split series, break other readers of the database, or drive a terminal.
  ['{"type":"llm_usage","channel":"a","model":"\\ud800","feature":"f","tokens_in":1,"tokens_out":1}', "invalid_text"],
  ['{"type":"llm_usage","channel":"a","model":"x\\udc00","feature":"f","tokens_in":1,"tokens_out":1}', "invalid_text"],
  ['{"type":"llm_usage","channel":"a","model":"m","feature":"\\u001b[31mred","tokens_in":1,"tokens_out":1}', "invalid_text"],
  ['{"type":"custom_metric","channel":"a","metric_name":"q\\u0007","value":1}', "invalid_text"],
  ['{"type":"register","channel":"a","pid":1,"features":{"\\u009bx":true}}', "invalid_text"],
];

test("a well-formed surrogate pair (an emoji) and non-ASCII names are accepted", () => {
  const m = ok('{"type":"llm_usage","channel":"a","model":"gpt-4o \\ud83d\\ude00","feature":"blagues é","tokens_in":1,"tokens_out":1}');
  assert.equal(m.type === "llm_usage" && m.model, "gpt-4o 😀");
});

for (const [line, reason] of REJECTED) {
  test(`rejects ${JSON.stringify(line.slice(0, 50))} as ${reason}`, () => {
    const r = decodeLine(line === "\xff" ? Buffer.from([0xff]) : Buffer.from(line));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, reason);
  });
}
