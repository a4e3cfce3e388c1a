import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseCommandLine, type Config } from "../../src/config/config.js";
import { startBridge } from "../../src/main.js";
import { ManualClock } from "../../src/util/clock.js";
import type { ProcessSnapshot, ProcessSource } from "../../src/sampler/process-source.js";
import { sendOnce } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The composition root in process, with an injected clock and a scripted table of processes
 * (the BridgeDeps hooks): the order parts stop in, a restart on the same files, a start that
 * fails half-way.
 */

function config(dir: string, extra: string[] = []): Config {
  const parsed = parseCommandLine(["--socket", join(dir, "monitor.sock"), "--db", join(dir, "kissbot_monitor.db"), "--channel-log-dir", join(dir, "logs"), "--listen", "127.0.0.1:0", ...extra], {});
  assert.equal(parsed.kind, "run");
  return (parsed as { config: Config }).config;
}

function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines, stopped: () => lines.filter((l) => l["msg"] === "stopped").map((l) => String(l["part"])) };
}

/** Every PID in the table runs, started at its value's time. */
class ProcessTable implements ProcessSource {
  readonly running = new Map<number, number>();
  async inspect(pid: number): Promise<ProcessSnapshot | null> {
    const start = this.running.get(pid);
    return start === undefined ? null : { startTime: start, zombie: false, cpuSeconds: 1, rssBytes: 50_000_000 };
  }
}

const register = (channel: string, pid: number) => `${JSON.stringify({ type: "register", channel, pid })}\n`;

test("shutdown unwinds the parts in reverse order of starting: timers, then the socket, then samplers and followers, then HTTP, then the files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-root-"));
  const log = memoryLog();
  const bridge = await startBridge(config(dir), log.logger, { clock: new ManualClock(Date.now()), processSource: new ProcessTable() });
  const report = await bridge.stop();
  assert.deepEqual(report, { droppedRows: 0 });
  const order = log.stopped();
  const at = (name: string) => {
    const i = order.indexOf(name);
    assert.ok(i >= 0, `${name} stopped: ${order.join(", ")}`);
    return i;
  };
  for (const timer of ["status", "evaluator", "log-pruner"]) assert.ok(at(timer) < at("transport"), `${timer} before the socket`);
  for (const reader of ["sampler", "follower", "spend"]) assert.ok(at("transport") < at(reader) && at(reader) < at("http"), `${reader} after the socket, before HTTP`);
  for (const file of ["store", "reader", "channel-log"]) assert.ok(at("http") < at(file), `${file} last`);
  assert.equal(order.length, new Set(order).size, "each part stopped once");
  assert.equal(existsSync(join(dir, "monitor.sock")), false, "the socket file removed");
  assert.ok(log.lines.some((l) => l["msg"] === "kissbot-bridge stopped"));
  assert.deepEqual(await bridge.stop(), { droppedRows: 0 }, "a second stop is harmless");
});

test("a restart on the same files brings back the bots the last run knew, checked against their processes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-root-"));
  const clock = new ManualClock(Date.now());
  const processes = new ProcessTable();
  processes.running.set(4242, 1000);
  const first = await startBridge(config(dir), memoryLog().logger, { clock, processSource: processes });
  assert.equal(await sendOnce(join(dir, "monitor.sock"), register("kept", 4242) + register("gone", 4343)), true);
  await waitFor("kept registered", async () => ((await (await fetch(`http://127.0.0.1:${first.httpAddress.port}/api/bots`)).json()) as { bots: { channel: string }[] }).bots.some((b) => b.channel === "kept") || undefined);
  await first.stop();
  // While the bridge was down: time passes, and nothing else changes.
  clock.advance(60_000);
  const log = memoryLog();
  const second = await startBridge(config(dir), log.logger, { clock, processSource: processes });
  const { bots } = (await (await fetch(`http://127.0.0.1:${second.httpAddress.port}/api/bots`)).json()) as { bots: { channel: string; status: string }[] };
  assert.deepEqual(bots.map((b) => [b.channel, b.status]), [["kept", "online"]], "the refused one was never kept; the running one is back, online");
  assert.ok(log.lines.some((l) => l["msg"] === "restored bots from the database" && l["bots"] === 1));
  await second.stop();
});

test("a start that fails half-way (the HTTP port taken) stops what it had started, and the next start on the same files works", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-root-"));
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as { port: number }).port;
  const log = memoryLog();
  await assert.rejects(startBridge(config(dir, ["--listen", `127.0.0.1:${port}`]), log.logger, { clock: new ManualClock(Date.now()), processSource: new ProcessTable() }), /EADDRINUSE/);
  taken.close();
  const stopped = log.stopped();
  for (const file of ["store", "reader", "channel-log"]) assert.ok(stopped.includes(file), `${file} stopped: ${stopped.join(", ")}`);
  assert.ok(!stopped.includes("transport") && !stopped.includes("http"), "what never started is not stopped");
  assert.equal(existsSync(join(dir, "monitor.sock")), false, "no socket left behind");
  const bridge = await startBridge(config(dir), memoryLog().logger, { clock: new ManualClock(Date.now()), processSource: new ProcessTable() });
  assert.equal((await fetch(`http://127.0.0.1:${bridge.httpAddress.port}/-/ready`)).status, 200);
  await bridge.stop();
});
