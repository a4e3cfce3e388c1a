import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import bcrypt from "bcryptjs";
import { closePasswordThread, threadedCheck } from "../../src/http/basic-auth.js";

/** CPU time (clock ticks) of this process's main thread, and of the whole process. */
function cpuTicks(): { main: number; all: number } {
  const fields = (path: string) => readFileSync(path, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat: 12 and 13 after the command's name.
  const ticks = (f: string[]) => Number(f[11]) + Number(f[12]);
  return { main: ticks(fields(`/proc/self/task/${process.pid}/stat`)), all: ticks(fields("/proc/self/stat")) };
}

test("basic auth's bcrypt checks run on their own thread: the main thread, which ingests and serves, pays almost none of their CPU", async (t) => {
  t.after(() => closePasswordThread());
  const hash = bcrypt.hashSync("right", 10);
  assert.equal(await threadedCheck("right", hash), true);
  assert.equal(await threadedCheck("wrong", hash), false);
  const before = cpuTicks();
  for (let i = 0; i < 6; i++) assert.equal(await threadedCheck(`wrong-${i}`, hash), false);
  const after = cpuTicks();
  const main = after.main - before.main;
  const all = after.all - before.all;
  assert.ok(all >= 10, `the checks took CPU somewhere (${all} ticks)`);
  assert.ok(main <= all * 0.2, `main thread ${main} of ${all} ticks`);
});
