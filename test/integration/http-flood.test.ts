import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { FIXTURES } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("1,100 idle connections and 500 half-sent requests held on the HTTP port lock no scraper out: a scrape every second succeeds every time, the idlest making room (issue 36)", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  const { hostname, port } = new URL(bridge.url);
  // 1,600 sockets need more descriptors than a normal user's default 1,024: the flooder raises its own soft limit.
  const flood = spawn("bash", ["-c", `ulimit -n 4096 && exec "${process.execPath}" "${join(FIXTURES, "http-flood.cjs")}" ${hostname} ${port} 1100 500`], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => flood.kill("SIGKILL"));
  const lines = createInterface({ input: flood.stdout! });
  let held = false;
  lines.on("line", (l) => (held ||= l.startsWith("held")));
  await waitFor("the flood holding its connections", () => (held ? true : undefined), 30_000, 50);
  await sleep(1000);
  const results: string[] = [];
  for (let i = 0; i < 10; i++) {
    const started = Date.now();
    try {
      // A new connection each time, as a scraper after its keep-alive has lapsed.
      const r = await fetch(`${bridge.url}/metrics`, { headers: { connection: "close" }, signal: AbortSignal.timeout(5000) });
      const body = await r.text();
      results.push(r.status === 200 && body.includes("kissbot_bridge_messages_total") ? "ok" : `HTTP ${r.status}`);
    } catch (err) {
      results.push(`failed: ${(err as Error).message}`);
    }
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
  assert.deepEqual(results, Array(10).fill("ok"));
  flood.kill("SIGKILL");
  const s = await bridge.samples();
  assert.ok(s.get("kissbot_bridge_http_refused_total", { reason: "max_connections" })! >= 1100 + 500 - 256, "the connections shed to keep the bound are counted");
});
