import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readlinkSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { requireUserNamespaces } from "./userns.js";
import { waitFor } from "./wait.js";

/** A test host: a network namespace joined to the test's own by a veth pair. */
export interface NetHost {
  name: string;
  /** The host's address, as the test's namespace (the central Prometheus) reaches it. */
  address: string;
  /** The test namespace's address on the link, as the host reaches it. */
  gateway: string;
  /** Runs a command inside the host: prefix for spawn. */
  exec: string[];
}

const INSIDE = "KISSBOT_TEST_NETNS";

/**
 * True when this process runs inside the user and network namespace `insideNetworkNamespace`
 * made for it, where it is root and may make hosts.
 */
export const insideNamespace = process.env[INSIDE] === "1";

/**
 * Registers one test that runs `file` again under `unshare --user --map-root-user --net`: a
 * network of its own where an unprivileged user may make hosts (Debian 12 allows it). It passes
 * when every test of that run passes, and shows their report when one fails. Inside, the file
 * registers its real tests instead (`insideNamespace`).
 */
export function insideNetworkNamespace(name: string, file: string, timeoutMs: number): void {
  test(name, { timeout: timeoutMs }, async () => {
    requireUserNamespaces();
    // Not NODE_TEST_CONTEXT: the inner runner reports to its own output, in words.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_TEST_CONTEXT"));
    const child = spawn("unshare", ["--user", "--map-root-user", "--net", "--", process.execPath, "--test", "--test-reporter=spec", `--test-timeout=${timeoutMs}`, file], { env: { ...env, [INSIDE]: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, `the tests run inside their namespace failed:\n${out}`);
    assert.match(out, /ℹ pass [1-9]/, `no test ran inside the namespace:\n${out}`);
    assert.match(out, /ℹ fail 0/);
  });
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/**
 * `count` hosts on their own networks (10.231.N.0/24: this side .1, the host .2), each with
 * loopback up; loopback of this namespace too. Each host is a network namespace held by a
 * `sleep` process made with `unshare --net` (no `ip netns`: its /run/netns needs real root).
 * Only inside `insideNetworkNamespace`.
 */
export async function makeHosts(prefix: string, count: number): Promise<{ hosts: NetHost[]; remove(): void }> {
  if (!insideNamespace) throw new Error("makeHosts runs inside insideNetworkNamespace only");
  ip("link", "set", "lo", "up");
  const hosts: NetHost[] = [];
  const holders: ChildProcess[] = [];
  const remove = () => {
    for (const h of holders) h.kill("SIGKILL");
  };
  const ours = readlinkSync("/proc/self/ns/net");
  try {
    for (let n = 1; n <= count; n++) {
      const holder = spawn("unshare", ["--net", "sleep", "infinity"], { stdio: "ignore" });
      holders.push(holder);
      const pid = holder.pid!;
      await waitFor(`host ${n}'s network namespace`, () => {
        try {
          return readlinkSync(`/proc/${pid}/ns/net`) !== ours ? true : undefined;
        } catch {
          return undefined;
        }
      });
      const inHost = ["nsenter", `--target=${pid}`, "--net", "--"];
      const outside = `${prefix}o${n}`;
      const inside = `${prefix}i${n}`;
      ip("link", "add", outside, "type", "veth", "peer", "name", inside);
      ip("link", "set", inside, "netns", String(pid));
      ip("addr", "add", `10.231.${n}.1/24`, "dev", outside);
      ip("link", "set", outside, "up");
      execFileSync(inHost[0]!, [...inHost.slice(1), "sh", "-c", `ip addr add 10.231.${n}.2/24 dev ${inside} && ip link set ${inside} up && ip link set lo up`], { stdio: ["ignore", "ignore", "pipe"] });
      hosts.push({ name: `${prefix}${n}`, address: `10.231.${n}.2`, gateway: `10.231.${n}.1`, exec: inHost });
    }
  } catch (err) {
    remove();
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message;
    throw new Error(`cannot make the test's network hosts (unshare --net, veth): ${why}`);
  }
  return { hosts, remove };
}
