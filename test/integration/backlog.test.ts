import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { burstWhileBlocked } from "../helpers/blocked-burst.js";
import { waitFor } from "../helpers/wait.js";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { requireUserNamespaces } from "../helpers/userns.js";

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
  // More connects than the kernel queues (its somaxconn), so a socket served by the blocked
  // thread would turn the rest away with EAGAIN; fewer lines than the socket's thread holds for
  // the main thread (20,000), past which it would stop reading.
  const total = Math.min(Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8")) + 1000, 18_000);
  const { bridge, metrics, sent, refused } = await burstWhileBlocked(total, 32);
  t.after(() => bridge.stop());
  assert.deepEqual({ sent, refused }, { sent: total, refused: 0 });
  await waitFor("every message ingested", async () => {
    const body = await (await fetch(metrics)).text();
    return /^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)$/m.exec(body)?.[1] === String(total) ? true : undefined;
  });
});
