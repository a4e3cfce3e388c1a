import { test } from "node:test";
import assert from "node:assert/strict";
import { BotRegistry } from "../../src/registry/bot-registry.js";
import type { ProcessSnapshot, ProcessSource } from "../../src/sampler/process-source.js";
import { ProcessSampler } from "../../src/sampler/process-sampler.js";
import { ManualClock } from "../../src/util/clock.js";
import { createLogger } from "../../src/log/logger.js";

/** A /proc whose reads finish only when the test lets them, so a storm can be caught mid-way. */
class HeldProcesses implements ProcessSource {
  readonly asked: number[] = [];
  private readonly waiting: (() => void)[] = [];
  inFlight = 0;
  maxInFlight = 0;

  async inspect(pid: number): Promise<ProcessSnapshot | null> {
    this.asked.push(pid);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight--;
    return { startTime: pid, zombie: false, cpuSeconds: 1, rssBytes: 100 };
  }

  /** Lets every read started so far finish, and waits for what they set off. */
  async finishAll(): Promise<void> {
    for (;;) {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      if (this.waiting.length === 0) return;
      for (const r of this.waiting.splice(0)) r();
    }
  }
}

function setup(maxBots: number) {
  const registry = new BotRegistry(new ManualClock(), { staleAfterMs: 120_000, maxBots });
  const procs = new HeldProcesses();
  registry.observe(new ProcessSampler(registry, procs, createLogger("silent"), { intervalMs: 15_000, concurrency: 4 }));
  return { registry, procs };
}

test("a storm of channels that register and leave at once costs a few first looks, not one per channel", async () => {
  const { registry, procs } = setup(100);
  for (let i = 0; i < 5000; i++) {
    registry.register({ type: "register", channel: `c${i}`, pid: 1000 + i, features: null });
    registry.unregister({ type: "unregister", channel: `c${i}`, pid: 1000 + i });
  }
  await new Promise((r) => setImmediate(r));
  assert.ok(procs.asked.length <= 4, `${procs.asked.length} reads started`);
  await procs.finishAll();
  assert.ok(procs.asked.length <= 4, `${procs.asked.length} reads in all: none for bots already gone`);
  // The sampler is not stuck: the next bot still gets its first look.
  registry.register({ type: "register", channel: "after", pid: 77, features: null });
  await new Promise((r) => setImmediate(r));
  assert.equal(procs.asked.at(-1), 77);
  await procs.finishAll();
  assert.equal(registry.get("after")!.startTime, 77, "the first look found the process");
});

test("a storm of bots that stay: every one gets its first look, never more than the concurrency at once", async () => {
  const { registry, procs } = setup(2000);
  for (let i = 0; i < 1000; i++) registry.register({ type: "register", channel: `b${i}`, pid: 1000 + i, features: null });
  await procs.finishAll();
  assert.equal(new Set(procs.asked).size, 1000);
  assert.equal(procs.maxInFlight, 4);
  for (let i = 0; i < 1000; i++) assert.equal(registry.get(`b${i}`)!.startTime, 1000 + i);
});

test("a sample that cannot be applied is counted, and the round goes on: the other bots are sampled and the tick never rejects", async () => {
  const applied: string[] = [];
  const registry = {
    // Taken from the end: the broken one comes first, in a round of one worker.
    sampleTargets: () => [{ channel: "fine", pid: 2, generation: 1 }, { channel: "broken", pid: 1, generation: 1 }],
    applySample(target: { channel: string }) {
      if (target.channel === "broken") throw new Error("an observer failed");
      applied.push(target.channel);
    },
  };
  const procs: ProcessSource = { inspect: async (pid) => ({ startTime: pid, zombie: false, cpuSeconds: 1, rssBytes: 100 }) };
  const sampler = new ProcessSampler(registry, procs, createLogger("silent"), { intervalMs: 15_000, concurrency: 1 });
  await sampler.tick();
  assert.deepEqual(applied, ["fine"]);
  assert.equal(sampler.errors, 1);
});
