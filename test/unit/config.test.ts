import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommandLine } from "../../src/config/config.js";
import { negotiateFormat } from "../../src/metrics/format.js";

test("defaults are the documented ones", () => {
  const r = parseCommandLine([], {});
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config.socket, "/tmp/kissbot_monitor.sock");
  assert.equal(r.config.socketMode, 0o660);
  assert.deepEqual(r.config.listen, { host: "127.0.0.1", port: 9877 });
  assert.equal(r.config.staleAfter, 120_000);
  assert.equal(r.config.sampleInterval, 15_000);
  assert.equal(r.config.idleTimeout, 30_000);
  assert.equal(r.config.maxLineBytes, 65_536);
});

test("KISSBOT_MONITOR_SOCKET and the other variables apply; a flag wins over its variable", () => {
  const env = { KISSBOT_MONITOR_SOCKET: "/run/kissbot/monitor.sock", KISSBOT_BRIDGE_STALE_AFTER: "60", KISSBOT_BRIDGE_LISTEN: "[::1]:9000" };
  const r = parseCommandLine(["--stale-after", "90"], env);
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config.socket, "/run/kissbot/monitor.sock");
  assert.equal(r.config.staleAfter, 90_000);
  assert.deepEqual(r.config.listen, { host: "::1", port: 9000 });
});

test("a bad environment value names both the variable and its flag", () => {
  const r = parseCommandLine([], { KISSBOT_BRIDGE_SOCKET_MODE: "rwx" });
  assert.equal(r.kind, "error");
  assert.match(r.kind === "error" ? r.message : "", /KISSBOT_BRIDGE_SOCKET_MODE \(--socket-mode\)/);
});

test("Accept negotiation: OpenMetrics only when preferred", () => {
  assert.equal(negotiateFormat(undefined), "prometheus");
  assert.equal(negotiateFormat("*/*"), "prometheus");
  assert.equal(negotiateFormat("text/plain;version=0.0.4"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text; version=1.0.0"), "openmetrics");
  assert.equal(negotiateFormat("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.9"), "prometheus");
  assert.equal(negotiateFormat("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), "openmetrics");
});
