import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { CLI } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";
import { PYTHON } from "../helpers/python.js";

const line = (n: number) => `{"type":"custom_metric","channel":"owner","metric_name":"n","value":${n}}\n`;

async function sendOne(socket: string, n: number): Promise<void> {
  const s = await openStream(socket);
  await writeAll(s, line(n));
  await finish(s);
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, "--listen", "127.0.0.1:0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.on("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, stderr });
    });
  });
}

test("a second bridge refuses a socket a live bridge is serving, and the first keeps working", async (t) => {
  const first = await startBridgeProcess();
  t.after(() => first.stop());
  const second = await runCli(["--socket", first.socket]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another process is listening on .*monitor\.sock/);
  assert.equal(second.stderr.trim().split("\n").length, 1, "one clear line");
  await sendOne(first.socket, 1);
  await waitFor("the first bridge still ingests", async () => ((await first.samples()).get("kissbot_custom_metric", { channel: "owner", name: "n" }) === 1 ? true : undefined));
});

test("a socket file left by a dead process is replaced", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-test-"));
  const socket = join(dir, "monitor.sock");
  // Python binds and exits without unlinking: exactly what a crashed Monitor leaves behind.
  spawnSync(PYTHON, ["-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(socket)}); s.listen(1)`]);
  assert.ok(statSync(socket).isSocket(), "leftover socket exists");
  const bridge = await startBridgeProcess([], { dir, socket });
  t.after(() => bridge.stop());
  await sendOne(socket, 2);
  await waitFor("ingest on the replaced socket", async () => ((await bridge.samples()).get("kissbot_custom_metric", { channel: "owner", name: "n" }) === 2 ? true : undefined));
});

test("a path that is not a socket is never replaced", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-test-"));
  const path = join(dir, "important.txt");
  writeFileSync(path, "keep me");
  const r = await runCli(["--socket", path]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is not a socket/);
  assert.equal(readFileSync(path, "utf8"), "keep me");
});

test("the socket gets --socket-mode (default 660, not world-writable)", async (t) => {
  const a = await startBridgeProcess();
  t.after(() => a.stop());
  assert.equal(statSync(a.socket).mode & 0o777, 0o660);
  const b = await startBridgeProcess(["--socket-mode", "600"]);
  t.after(() => b.stop());
  assert.equal(statSync(b.socket).mode & 0o777, 0o600);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal}: the bridge removes its socket and exits 0 within 5 s`, async () => {
    const bridge = await startBridgeProcess();
    const open = await openStream(bridge.socket); // an open client must not hold up the exit
    open.on("error", () => {});
    const started = Date.now();
    assert.equal(await bridge.stop(signal), 0);
    assert.ok(Date.now() - started < 5000);
    assert.equal(existsSync(bridge.socket), false);
  });
}

test("SIGTERM while the bridge is still starting (its socket already listens) stops it cleanly: exit 0, socket removed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-test-"));
  const socket = join(dir, "monitor.sock");
  // systemd or a deploy script may stop the bridge the instant it appears; before the signal
  // handlers were installed first, this killed it by signal (exit code null) and left the socket.
  const p = spawn(process.execPath, [CLI, "--listen", "127.0.0.1:0", "--socket", socket, "--db", join(dir, "k.db"), "--channel-log-dir", join(dir, "logs")], { stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => p.once("exit", (code) => resolve(code)));
  await waitFor("the socket to appear", () => (existsSync(socket) ? true : undefined), 10_000, 1);
  p.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.equal(existsSync(socket), false);
});

test("stopping an old instance does not delete the socket of a newer one on the same path", async (t) => {
  const old = await startBridgeProcess();
  unlinkSync(old.socket); // e.g. an operator or a deploy script cleared the path
  const fresh = await startBridgeProcess([], { dir: old.dir, socket: old.socket });
  t.after(() => fresh.stop());
  assert.equal(await old.stop(), 0);
  assert.ok(statSync(fresh.socket).isSocket(), "the new instance's socket survived");
  await sendOne(fresh.socket, 3);
  await waitFor("ingest by the new instance", async () => ((await fresh.samples()).get("kissbot_custom_metric", { channel: "owner", name: "n" }) === 3 ? true : undefined));
});

test("bad flag values and unknown flags exit 2 with one line naming the flag", async () => {
  for (const [args, pattern] of [
    [["--stale-after", "soon"], /^kissbot-bridge: invalid --stale-after: /],
    [["--socket-mode", "999"], /^kissbot-bridge: invalid --socket-mode: /],
    [["--listen", "nowhere"], /^kissbot-bridge: invalid --listen: /],
    [["--sample-interval", "0"], /^kissbot-bridge: invalid --sample-interval: /],
    [["--sample-interval", "-1"], /^kissbot-bridge: .*'--sample-interval'/],
    [["--max-connections", "many"], /^kissbot-bridge: invalid --max-connections: /],
    [["--log-level", "loud"], /^kissbot-bridge: invalid --log-level: /],
    [["--frobnicate"], /^kissbot-bridge: .*--frobnicate/],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});
