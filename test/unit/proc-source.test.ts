import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelUnits, parseProcStat, ProcSource } from "../../src/sampler/proc-source.js";

test("/proc/<pid>/stat: state, start time, CPU ticks and RSS pages, with a command name holding spaces and parentheses", () => {
  const line = "4242 (my (bot) 2) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 3 0 987654 123456789 2560 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  assert.deepEqual(parseProcStat(line), { state: "S", startTime: 987654, cpuTicks: 200, rssPages: 2560 });
});

test("the clock tick and page size come from the auxiliary vector, without a child process", () => {
  const auxv = Buffer.alloc(16 * 4);
  const put = (i: number, type: number, value: number) => {
    auxv.writeBigUInt64LE(BigInt(type), i * 16);
    auxv.writeBigUInt64LE(BigInt(value), i * 16 + 8);
  };
  put(0, 6, 16384); // AT_PAGESZ
  put(1, 17, 250); // AT_CLKTCK
  put(2, 0, 0); // AT_NULL
  assert.deepEqual(kernelUnits(auxv), { clockTicksPerSecond: 250, pageSizeBytes: 16384 });
  assert.deepEqual(kernelUnits(Buffer.alloc(0)), { clockTicksPerSecond: 100, pageSizeBytes: 4096 }, "the usual values when /proc is not there");
});

test("this very process, read through /proc: alive, with CPU time and resident memory close to what Node reports", async () => {
  const snap = await new ProcSource().inspect(process.pid);
  assert.ok(snap !== null && !snap.zombie);
  assert.ok(snap!.cpuSeconds > 0);
  const rss = process.memoryUsage.rss();
  assert.ok(Math.abs(snap!.rssBytes - rss) < rss * 0.5, `${snap!.rssBytes} vs ${rss}`);
  assert.equal(await new ProcSource().inspect(2 ** 22 + 12345), null, "no such process");
});
