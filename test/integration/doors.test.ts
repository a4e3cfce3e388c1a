import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import fc from "fast-check";
import { startBridgeProcess, until, type BridgeProcess } from "../helpers/bridge-process.js";
import { openStream, writeAll, finish } from "../helpers/raw-client.js";

/**
 * Property-based, at both doors of the real bridge process: whatever a request or a bot sends,
 * drawn from a dictionary of what has broken servers before (Object.prototype's own names,
 * arrays, huge, negative, empty and malformed percent-encoded values), the answer is a 2xx or a
 * 4xx (never a 500), the process is still up, and a good line sent afterwards is counted.
 */

const PROTO = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__", "prototype"];
const WEIRD = ["", "%20", "+", "-1", "-0", "0", "1e309", "NaN", "Infinity", "x".repeat(5000), "%", "%zz", "%E0%A4%A", "%00", "%C0%AF", "%F0%9F%98%80", "..", "../..", "a/b", "1h", "24h", "7d", "30m", "day", "model", "channel", "UTC", "europe/PARIS", "America/Argentina/ComodRivadavia", "Mars/Olympus"];
/** A raw (already encoded) query or path value. */
const value = fc.oneof(fc.constantFrom(...PROTO, ...WEIRD), fc.string({ maxLength: 30 }).map(encodeURIComponent), fc.integer().map(String));
const param = fc.constantFrom("since", "by", "timezone", "range", "channel", "x", "__proto__", "constructor");
/** A query string: single values, repeated names, bracketed names (?range[]=, ?range[x]=), bare names. */
const query = fc.array(
  fc.oneof(
    fc.tuple(param, value).map(([k, v]) => `${k}=${v}`),
    fc.tuple(param, value).map(([k, v]) => `${k}[]=${v}`),
    fc.tuple(param, fc.constantFrom(...PROTO), value).map(([k, sub, v]) => `${k}[${sub}]=${v}`),
    param,
  ),
  { maxLength: 4 },
).map((parts) => (parts.length === 0 ? "" : `?${parts.join("&")}`));
const ROUTES = ["/metrics", "/api/bots", "/api/usage", "/api/v1/overview", "/api/v1/bots", "/api/v1/bots/:c", "/api/v1/bots/:c/history", "/bot/:c", "/", "/runbook", "/-/healthy", "/-/ready", "/web/app.js", "/web/:c", "/otel/metrics", "/:c"];
const path = fc.tuple(fc.constantFrom(...ROUTES), value).map(([route, v]) => route.replace(":c", v));

/** A GET with the exact bytes of the path (fetch would normalise them). */
function get(bridge: BridgeProcess, target: string): Promise<number> {
  const { hostname, port } = new URL(bridge.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: target, method: "GET", headers: { accept: "*/*" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer for ${target}`)));
    req.end();
  });
}

const good = (channel: string) => `${JSON.stringify({ type: "llm_usage", channel, model: "gpt-4o", feature: "chat", tokens_in: 1, tokens_out: 1 })}\n`;

async function stillCounts(bridge: BridgeProcess, channel: string): Promise<void> {
  assert.equal(bridge.proc.exitCode, null, "the bridge is still running");
  const s = await openStream(bridge.socket);
  await writeAll(s, good(channel));
  await finish(s);
  await until(bridge, `a good line from ${channel} counted`, (x) => x.get("kissbot_llm_requests_total", { channel, model: "gpt-4o", feature: "chat" }) === 1);
}

test("HTTP door: any route with any parameter answers 2xx or 4xx, never 500, and the bridge goes on counting", async (t) => {
  const bridge = await startBridgeProcess(["--otel-prometheus"]);
  t.after(() => bridge.stop());
  // Something to read: a bot with usage, so the database reads have rows.
  await stillCounts(bridge, "before");
  const answers = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(path, query, async (p, q) => {
      const status = await get(bridge, p + q);
      answers.set(status, (answers.get(status) ?? 0) + 1);
      assert.ok(status >= 200 && status < 500, `${p + q} answered ${status}`);
    }),
    { numRuns: 600 },
  );
  // Two reads at once of a range named after Object.prototype's members, as in issue 25.
  const both = await Promise.all([1, 2].map(() => get(bridge, "/api/v1/bots/x/history?range=constructor")));
  assert.deepEqual(both, [400, 400]);
  const refused = [...answers].filter(([status]) => status >= 400).reduce((n, [, k]) => n + k, 0);
  assert.ok(refused >= 50 && (answers.get(200) ?? 0) >= 50, `bad and good requests both drawn: ${JSON.stringify([...answers])}`);
  await stillCounts(bridge, "after");
  const s = await bridge.samples();
  assert.equal(s.get("kissbot_bridge_internal_errors_total", { component: "http" }), 0, "no route threw");
});

const field = fc.oneof(fc.constantFrom(...PROTO), fc.constantFrom("c1", "gpt-4o", "chat", "", "x".repeat(200)), fc.string({ maxLength: 20 }));
const num = fc.oneof(fc.constantFrom(-1, 0, 1, 1e9, 1e10, 2 ** 31, 1e309, process.pid), fc.double(), fc.integer());
const protoMessage = fc.record(
  {
    type: fc.oneof(fc.constantFrom("register", "heartbeat", "unregister", "llm_usage", "custom_metric"), fc.constantFrom(...PROTO)),
    channel: fc.oneof(fc.constantFrom(...PROTO.filter((n) => /^[A-Za-z0-9_]+$/.test(n))), field),
    pid: num,
    features: fc.dictionary(fc.oneof(fc.constantFrom(...PROTO), fc.string({ maxLength: 10 })), fc.oneof(fc.boolean(), num), { maxKeys: 6 }),
    model: field,
    feature: field,
    tokens_in: num,
    tokens_out: num,
    latency_ms: num,
    estimated_cost: num,
    metric_name: field,
    value: num,
  },
  { requiredKeys: ["type", "channel"] },
);

test("socket door: messages whose every field comes from the dictionary are counted or rejected by reason, and a good line afterwards is counted", async (t) => {
  const bridge = await startBridgeProcess(["--unseen-pids", "accept"]);
  t.after(() => bridge.stop());
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(protoMessage, { minLength: 1, maxLength: 30 }), async (messages) => {
      const s = await openStream(bridge.socket);
      // Also as raw text: JSON.stringify drops "__proto__" keys set through the accessor, a bot need not.
      const lines = messages.map((m) => JSON.stringify(m).replace(/^\{/, '{"__proto__": {"type": "register"}, '));
      await writeAll(s, `${lines.join("\n")}\n`);
      await finish(s);
      sent += messages.length;
    }),
    { numRuns: 150 },
  );
  const s = await until(bridge, "every line accounted for", (x) => x.sum("kissbot_bridge_messages_total") + x.sum("kissbot_bridge_rejected_lines_total") >= sent);
  assert.equal(s.sum("kissbot_bridge_messages_total") + s.sum("kissbot_bridge_rejected_lines_total"), sent);
  assert.ok(s.sum("kissbot_bridge_messages_total") > 50, "a good share was accepted, so the property says something");
  // The status page's views over whatever was accepted (a model named constructor ended the bridge here).
  const live = new AbortController();
  const feed = await fetch(`${bridge.url}/api/v1/live`, { signal: live.signal });
  assert.equal(feed.status, 200);
  for (const p of ["/api/v1/overview", "/api/v1/bots", "/api/bots", "/metrics"]) assert.equal((await fetch(`${bridge.url}${p}`)).status, 200, p);
  live.abort();
  await stillCounts(bridge, "after_fuzz");
  assert.equal((await bridge.samples()).sum("kissbot_bridge_internal_errors_total"), 0);
});
