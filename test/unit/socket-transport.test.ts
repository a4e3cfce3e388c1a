import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { SocketTransport } from "../../src/transport/socket-transport.js";
import { internalErrors } from "../../src/util/guard.js";
import { sendOnce } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

function socketOnItsThread() {
  const path = join(mkdtempSync(join(tmpdir(), "kb-transport-")), "monitor.sock");
  const lines: string[] = [];
  let tooLong = 0;
  const t = new SocketTransport({ path, mode: 0o660, maxLineBytes: 100, idleTimeoutMs: 30_000, maxConnections: 16 }, { line: (l) => lines.push(l.toString()), tooLong: () => tooLong++ });
  return { t, path, lines, tooLong: () => tooLong };
}

test("the socket's thread hands over every line in order, with the too-long ones counted, and its counts are current when the main thread reads them", async (t) => {
  const { t: transport, path, lines, tooLong } = socketOnItsThread();
  await transport.start();
  t.after(() => transport.stop(100));
  await sendOnce(path, `a\nb\n${"x".repeat(200)}\nc\n`);
  await sendOnce(path, "d\n");
  await waitFor("the lines", () => (lines.length === 4 ? true : undefined));
  assert.deepEqual(lines, ["a", "b", "c", "d"]);
  assert.equal(tooLong(), 1);
  await waitFor("both closed", () => (transport.openConnections === 0 ? true : undefined));
  assert.equal(transport.connectionsAccepted, 2);
});

test("a socket thread that dies is counted as an internal error and replaced: the socket serves again, and the counts go on", async (t) => {
  const { t: transport, path, lines } = socketOnItsThread();
  await transport.start();
  t.after(() => transport.stop(100));
  await sendOnce(path, "before\n");
  await waitFor("the first line", () => (lines.length === 1 ? true : undefined));
  const errors = internalErrors.counts.get("transport");
  // As an uncaught exception there would end it.
  await (transport as unknown as { worker: Worker }).worker.terminate();
  await waitFor("counted", () => (internalErrors.counts.get("transport") === errors + 1 ? true : undefined));
  assert.equal(transport.listening, false);
  await waitFor("listening again", () => (transport.listening ? true : undefined), 10_000);
  await sendOnce(path, "after\n");
  await waitFor("the line after", () => (lines.length === 2 ? true : undefined));
  assert.deepEqual(lines, ["before", "after"]);
  assert.equal(transport.connectionsAccepted, 2);
});
