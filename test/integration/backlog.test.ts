import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseCommandLine, type Config } from "../../src/config/config.js";
import { startBridge } from "../../src/main.js";
import { FIXTURES } from "../helpers/paths.js";
import { PYTHON } from "../helpers/python.js";
import { waitFor } from "../helpers/wait.js";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { requireUserNamespaces } from "../helpers/userns.js";

const text = (stream: NodeJS.ReadableStream) => new Promise<string>((resolve) => {
  let s = "";
  stream.on("data", (d: Buffer) => (s += d.toString()));
  stream.on("end", () => resolve(s));
});

/** A network namespace of our own whose net.core.somaxconn is `cap` (no root needed: a user namespace owns it). */
const cappedAt = (cap: number) => ["unshare", "--user", "--map-root-user", "--net", "sh", "-c", `ip link set lo up && echo ${cap} > /proc/sys/net/core/somaxconn && exec "$0" "$@"`];

test("the socket's accept queue is as deep as the kernel allows, said at start; a kernel cap below what a burst needs is a warning with the sysctl to raise (issue 36)", async (t) => {
  requireUserNamespaces();
  const open = await startBridgeProcess();
  t.after(() => open.stop());
  const ready = open.logs.find((l) => l["msg"] === "kissbot-bridge ready")!;
  const limit = Number(spawnSync("cat", ["/proc/sys/net/core/somaxconn"], { encoding: "utf8" }).stdout.trim());
  assert.equal(ready["backlog"], limit, "the kernel's limit");
  assert.equal(open.logs.some((l) => /net\.core\.somaxconn/.test(String(l["msg"]))), limit < 4096);

  const capped = await startBridgeProcess([], { wrap: cappedAt(128) });
  t.after(() => capped.stop());
  assert.equal(capped.logs.find((l) => l["msg"] === "kissbot-bridge ready")!["backlog"], 128);
  const warning = capped.logs.find((l) => /net\.core\.somaxconn/.test(String(l["msg"])));
  assert.ok(warning !== undefined, "warned");
  assert.equal(warning["level"], 40);
  assert.match(String(warning["msg"]), /caps the socket's accept queue at 128 connections .* sysctl -w net\.core\.somaxconn=4096/);
});

test("a connect burst sent while the main thread is blocked is taken in whole: the socket has a thread of its own (issue 36)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-burst-"));
  const parsed = parseCommandLine(["--socket", join(dir, "monitor.sock"), "--db", join(dir, "k.db"), "--channel-log-dir", join(dir, "logs"), "--listen", "127.0.0.1:0"], {});
  assert.equal(parsed.kind, "run");
  const bridge = await startBridge((parsed as { config: Config }).config, pino({ level: "error" }));
  t.after(() => bridge.stop());
  // More connects than the kernel queues (its somaxconn), so a socket served by the blocked
  // thread would turn the rest away with EAGAIN; fewer lines than the socket's thread holds for
  // the main thread (20,000), past which it would stop reading.
  const total = Math.min(Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8")) + 1000, 18_000);
  const done = join(dir, "done");
  const sender = spawn(PYTHON, [join(FIXTURES, "stock_burst.py"), join(dir, "monitor.sock"), String(total), "32", done], { stdio: ["ignore", "pipe", "inherit"] });
  const out = text(sender.stdout);
  // The main thread does nothing else until the sender has finished: no accept, read or ingest on it.
  const deadline = Date.now() + 120_000;
  while (!existsSync(done) && Date.now() < deadline) {
    // busy, as a long synchronous task would keep it
  }
  assert.ok(existsSync(done), "the sender finished");
  const { sent, refused } = JSON.parse(await out) as { sent: number; refused: number };
  assert.deepEqual({ sent, refused }, { sent: total, refused: 0 });
  const metrics = `http://127.0.0.1:${bridge.httpAddress.port}/metrics`;
  await waitFor("every message ingested", async () => {
    const body = await (await fetch(metrics)).text();
    return /^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)$/m.exec(body)?.[1] === String(total) ? true : undefined;
  });
});
