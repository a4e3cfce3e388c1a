import { after, test } from "node:test";
import assert from "node:assert/strict";
import { WorkerChannel, WorkerLost } from "../../src/util/worker-channel.js";
import { internalErrors } from "../../src/util/guard.js";
import type { EchoRequest } from "../helpers/echo-worker.js";
import { waitFor } from "../helpers/wait.js";

const URL_ = new URL("../helpers/echo-worker.js", import.meta.url);

/**
 * The channel's threads never keep a process alive (unref), as in the bridge, where the HTTP
 * server does: here a timer stands in for it while a test waits.
 */
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

function channel(extra: { onEvent?: (e: string) => void; onLost?: (why: string) => void } = {}) {
  return new WorkerChannel<EchoRequest, unknown, string>({ url: URL_, workerData: { greeting: "hi" }, component: "reader", ...extra });
}

test("replies come back to the request that asked, events both ways, transferred buffers arrive whole", async (t) => {
  const events: string[] = [];
  const c = channel({ onEvent: (e) => events.push(e) });
  t.after(() => c.close());
  assert.equal(c.running, false, "no thread before the first message");
  const replies = await Promise.all([1, 2, 3].map((n) => c.request({ op: "echo", value: n })));
  assert.deepEqual(replies, [1, 2, 3].map((n) => ({ echoed: n, greeting: "hi" })));
  assert.equal(c.inFlight, 0);
  assert.equal(((await c.request({ op: "bytes", size: 1024 })) as Uint8Array).byteLength, 1024);
  c.post({ op: "tell", value: "x" });
  await waitFor("the thread's own messages", () => (events.includes("heard x") ? true : undefined));
  assert.deepEqual(events, ["ready", "heard x"]);
});

test("a handler's error rejects that request alone; arguments that cannot be cloned throw at once", async (t) => {
  const c = channel();
  t.after(() => c.close());
  await assert.rejects(c.request({ op: "fail", message: "no such read" }), /no such read/);
  assert.throws(() => c.request({ op: "echo", value: () => 1 }), /could not be cloned/);
  assert.deepEqual(await c.request({ op: "echo", value: "still" }), { echoed: "still", greeting: "hi" });
});

test("a thread that dies fails what was in flight with WorkerLost, says so, and the next request starts a new one", async (t) => {
  const lost: string[] = [];
  const c = channel({ onLost: (why) => lost.push(why) });
  t.after(() => c.close());
  await assert.rejects(c.request({ op: "exit" }), (err: unknown) => err instanceof WorkerLost && /exited with 3/.test(err.message));
  assert.deepEqual(lost, ["the thread exited with 3"]);
  assert.equal(c.running, false);
  assert.deepEqual(await c.request({ op: "echo", value: 1 }), { echoed: 1, greeting: "hi" });
});

test("restart ends a thread that is busy (a read past its time): the request fails, nothing is reported as lost, the next one is served", async (t) => {
  const lost: string[] = [];
  const c = channel({ onLost: (why) => lost.push(why) });
  t.after(() => c.close());
  const slow = c.request({ op: "spin", ms: 5_000 });
  await new Promise((r) => setTimeout(r, 100));
  c.restart("too slow");
  await assert.rejects(slow, (err: unknown) => err instanceof WorkerLost && err.message === "too slow");
  assert.deepEqual(await c.request({ op: "echo", value: 2 }), { echoed: 2, greeting: "hi" });
  assert.deepEqual(lost, []);
});

test("close is bounded even while the thread is busy, and a throwing event handler is counted, not thrown", async () => {
  const before = internalErrors.counts.get("reader");
  const c = channel({
    onEvent: () => {
      throw new Error("a handler bug");
    },
  });
  c.start();
  await waitFor("the handler's error counted", () => (internalErrors.counts.get("reader") > before ? true : undefined));
  void c.request({ op: "spin", ms: 3_000 }).catch(() => {});
  const started = Date.now();
  await c.close(200);
  assert.ok(Date.now() - started < 2_000, "close did not wait for the busy thread");
  assert.equal(c.running, false);
});
