import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { request } from "node:http";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { basicAuth, oneUserWebConfig } from "../helpers/basic-auth.js";
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

/** One GET from a chosen local address (127.0.0.2 is another host on the loopback), on its own connection. */
function getFrom(url: string, headers: Record<string, string>, localAddress: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { headers: { ...headers, connection: "close" }, localAddress }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

test("a flood of wrong passwords costs the flooder, not the bots: each refusal comes a second late, a scraper's first check gets its turn and it is served every time, ingest goes on (issue 36)", async (t) => {
  const { dir, web } = oneUserWebConfig("kb-auth-flood-", "prometheus", "right-password");
  const bridge = await startBridgeProcess(["--web.config.file", web], { dir });
  t.after(() => bridge.stop());
  const basic = (p: string) => basicAuth("prometheus", p);
  let stop = false;
  let guess = 0;
  const refusals: Array<{ status: number; ms: number }> = [];
  // 64 clients on another address, each guess new (a brute force: none is known to fail).
  const flooders = Array.from({ length: 64 }, async () => {
    while (!stop) {
      const t0 = Date.now();
      const status = await getFrom(`${bridge.url}/metrics`, basic(`guess-${guess++}`), "127.0.0.2");
      refusals.push({ status, ms: Date.now() - t0 });
    }
  });
  t.after(() => {
    stop = true;
  });
  await sleep(1500); // the flood is on before the scraper's first, uncached, check
  const s = await openStream(bridge.socket);
  const scrapes: number[] = [];
  for (let i = 0; i < 8; i++) {
    await writeAll(s, Array.from({ length: 1000 }, (_, j) => `{"type":"llm_usage","channel":"flooded","model":"m","feature":"f","tokens_in":${i * 1000 + j},"tokens_out":1}\n`).join(""));
    scrapes.push(await getFrom(`${bridge.url}/metrics`, basic("right-password"), "127.0.0.1"));
    await sleep(500);
  }
  await finish(s);
  stop = true;
  await Promise.all(flooders);
  assert.deepEqual(scrapes, Array(8).fill(200), "the right password is served every time");
  assert.ok(refusals.length >= 64, `${refusals.length} wrong attempts`);
  assert.ok(refusals.every((r) => r.status === 401 || r.status === 429), `refused: 401 when checked, 429 when the queue is full (${[...new Set(refusals.map((r) => r.status))].join(", ")})`);
  assert.ok(refusals.every((r) => r.ms >= 950), `each refusal came a second late (fastest ${Math.min(...refusals.map((r) => r.ms))} ms)`);
  const counted = await waitFor("every line counted", async () => {
    const r = await fetch(`${bridge.url}/metrics`, { headers: basic("right-password") });
    const n = Number(/^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)/m.exec(await r.text())?.[1] ?? 0);
    return n >= 8000 ? n : undefined;
  });
  assert.equal(counted, 8000);
});
