import { test } from "node:test";
import assert from "node:assert/strict";
import { BotRegistry } from "../../src/registry/bot-registry.js";
import { isUp, type BotStatus } from "../../src/registry/bot.js";
import type { ProcessSnapshot, ProcessSource } from "../../src/sampler/process-source.js";
import { ProcessSampler } from "../../src/sampler/process-sampler.js";
import { ManualClock } from "../../src/util/clock.js";
import { createLogger } from "../../src/log/logger.js";

/** Processes as a test says they are. */
class ScriptedProcesses implements ProcessSource {
  readonly table = new Map<number, ProcessSnapshot | "error">();
  async inspect(pid: number): Promise<ProcessSnapshot | null> {
    const p = this.table.get(pid);
    if (p === "error") throw Object.assign(new Error("EACCES"), { code: "EACCES" });
    return p ?? null;
  }
}

function setup(staleAfterMs = 120_000, maxBots = 100) {
  const clock = new ManualClock();
  const registry = new BotRegistry(clock, { staleAfterMs, maxBots });
  const procs = new ScriptedProcesses();
  const sampler = new ProcessSampler(registry, procs, createLogger("silent"), { intervalMs: 15_000 });
  registry.observe(sampler);
  const transitions: string[] = [];
  registry.observe({ statusChanged: (b, from: BotStatus) => transitions.push(`${b.channel}:${from}->${b.status}`) });
  const settle = () => new Promise((r) => setImmediate(r));
  return { clock, registry, procs, sampler, transitions, settle };
}

const reg = (channel: string, pid: number) => ({ type: "register" as const, channel, pid, features: null });
const beat = (channel: string, pid: number) => ({ type: "heartbeat" as const, channel, pid, rssMb: null, cpuPct: null });

test("online → stale after staleAfter without heartbeat, → online on the next heartbeat; each transition once", async () => {
  const { clock, registry, procs, transitions, settle } = setup(120_000);
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  registry.register(reg("a", 10));
  await settle();
  clock.advance(120_000);
  registry.evaluate();
  assert.equal(registry.get("a")!.status, "online", "exactly staleAfter is still fresh");
  clock.advance(1);
  registry.evaluate();
  registry.evaluate();
  assert.equal(registry.get("a")!.status, "stale");
  assert.equal(isUp(registry.get("a")!), true, "the process still runs");
  registry.heartbeat(beat("a", 10));
  assert.equal(registry.get("a")!.status, "online");
  assert.deepEqual(transitions, ["a:online->stale", "a:stale->online"]);
});

test("PID reuse: same PID, another start time → dead, and stays dead", async () => {
  const { clock, registry, procs, sampler, settle } = setup();
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  registry.register(reg("a", 10));
  await settle();
  procs.table.set(10, { startTime: 999, zombie: false, cpuSeconds: 0.1, rssBytes: 50 });
  clock.advance(15_000);
  await sampler.tick();
  const bot = registry.get("a")!;
  assert.equal(bot.status, "dead");
  assert.equal(isUp(bot), false);
  assert.equal(bot.rssBytes, null, "the other process's numbers are not reported as the bot's");
  registry.heartbeat(beat("a", 10));
  clock.advance(15_000);
  await sampler.tick();
  assert.equal(registry.get("a")!.status, "dead");
});

test("CPU ratio comes from two samples, never from the first one alone", async () => {
  const { clock, registry, procs, sampler, settle } = setup();
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 100, rssBytes: 100 });
  registry.register(reg("a", 10));
  await settle();
  assert.equal(registry.get("a")!.cpuRatio, null);
  assert.equal(registry.get("a")!.cpuSeconds, 100);
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 107.5, rssBytes: 200 });
  clock.advance(15_000);
  await sampler.tick();
  assert.equal(registry.get("a")!.cpuRatio, 0.5);
  assert.equal(registry.get("a")!.rssBytes, 200);
});

test("a zombie is dead; a read error is counted and changes nothing", async () => {
  const { registry, procs, sampler, settle } = setup();
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  procs.table.set(11, { startTime: 6, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  registry.register(reg("z", 10));
  registry.register(reg("e", 11));
  await settle();
  procs.table.set(10, { startTime: 5, zombie: true, cpuSeconds: 0, rssBytes: 0 });
  procs.table.set(11, "error");
  await sampler.tick();
  assert.equal(registry.get("z")!.status, "dead");
  assert.equal(registry.get("e")!.status, "online");
  assert.equal(sampler.errors, 1);
});

test("a hidden PID follows its heartbeats: up while fresh, down when stale, never dead", async () => {
  const { clock, registry, sampler, settle } = setup(1000);
  registry.register(reg("h", 77));
  await settle();
  assert.equal(registry.get("h")!.visibility, "hidden");
  assert.equal(isUp(registry.get("h")!), true);
  clock.advance(1001);
  await sampler.tick();
  registry.evaluate();
  assert.equal(registry.get("h")!.status, "stale");
  assert.equal(isUp(registry.get("h")!), false);
});

test("a sample that finishes after the bot re-registered is ignored", async () => {
  const { registry, procs } = setup();
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  registry.register(reg("a", 10));
  const oldTarget = { channel: "a", pid: 10, generation: registry.get("a")!.generation };
  registry.register(reg("a", 20));
  registry.applySample(oldTarget, null);
  assert.equal(registry.get("a")!.status, "online");
  assert.equal(registry.get("a")!.pid, 20);
});

test("registrations past maxBots are refused; known channels may still re-register", () => {
  const { registry } = setup(120_000, 2);
  assert.equal(registry.register(reg("a", 1)), "registered");
  assert.equal(registry.register(reg("b", 2)), "registered");
  assert.equal(registry.register(reg("c", 3)), "bot_limit");
  assert.equal(registry.heartbeat(beat("d", 4)), "bot_limit");
  assert.equal(registry.register(reg("a", 5)), "registered");
  assert.equal(registry.size, 2);
});

test("restore after an outage: dead stays dead, a stale bot stays stale, an online one gets one stale-after from the restart", async () => {
  const { clock, registry, procs, sampler, transitions } = setup(120_000);
  procs.table.set(10, { startTime: 5, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  procs.table.set(11, { startTime: 6, zombie: false, cpuSeconds: 1, rssBytes: 100 });
  const lastSeen = clock.now() - 400_000; // the bridge was down for more than 6 minutes
  const row = (channel: string, pid: number, status: BotStatus, startTime: number | null) => ({ channel, pid, status, features: { llm: true }, registeredAt: lastSeen - 60_000, lastHeartbeatAt: lastSeen, startTime });
  const targets = registry.restore([row("healthy", 10, "online", 5), row("hung", 11, "stale", 6), row("crashed", 12, "dead", 7)]);
  assert.deepEqual(targets.map((t) => t.channel), ["healthy", "hung"], "a dead bot's process is not looked at again");
  await sampler.inspectNow(targets);
  const status = () => ["healthy", "hung", "crashed"].map((c) => registry.get(c)!.status);
  assert.deepEqual(status(), ["online", "stale", "dead"]);
  assert.equal(isUp(registry.get("crashed")!), false);
  assert.deepEqual(registry.get("crashed")!.features, { llm: true }, "kept with its last PID and features");
  clock.advance(119_000);
  registry.evaluate();
  assert.equal(registry.get("healthy")!.status, "online", "still within its grace");
  clock.advance(2_000);
  registry.evaluate();
  assert.equal(registry.get("healthy")!.status, "stale", "no heartbeat within one stale-after of the restart: stale");
  assert.deepEqual(transitions, ["healthy:online->stale"]);
  // A dead bot leaves when it registers again (or unregisters).
  registry.register(reg("crashed", 12));
  assert.equal(registry.get("crashed")!.status, "online");
});

test("feature flags are bounded across all bots: flags past the bound are dropped and counted, a goodbye frees them", () => {
  const clock = new ManualClock();
  const registry = new BotRegistry(clock, { staleAfterMs: 120_000, maxBots: 100, maxFeatureSeries: 5 });
  const flags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, true]));
  registry.register({ type: "register", channel: "a", pid: 1, features: flags(3) });
  registry.register({ type: "register", channel: "b", pid: 2, features: flags(4) });
  assert.deepEqual(Object.keys(registry.get("b")!.features!), ["f0", "f1"], "only what fits");
  assert.equal(registry.featuresRefused, 2);
  registry.register({ type: "register", channel: "a", pid: 1, features: flags(1) });
  registry.unregister({ type: "unregister", channel: "b", pid: 2 });
  registry.register({ type: "register", channel: "c", pid: 3, features: flags(4) });
  assert.equal(Object.keys(registry.get("c")!.features!).length, 4, "a re-registration and a goodbye gave room back");
});
