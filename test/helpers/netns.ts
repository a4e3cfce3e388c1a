import { execFileSync } from "node:child_process";

/** A test host: a network namespace joined to the root namespace by a veth pair. */
export interface NetHost {
  name: string;
  /** The host's address, as the root namespace (the central Prometheus) reaches it. */
  address: string;
  /** The root namespace's address on the link, as the host reaches it. */
  gateway: string;
  /** Runs a command inside the host: prefix for spawn. */
  exec: string[];
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** Hosts of earlier runs that died before their cleanup (names carry this prefix). */
export function removeStaleHosts(prefix: string): void {
  const list = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0];
    if (name !== undefined && name.startsWith(prefix)) ip("netns", "del", name);
  }
}

/**
 * `count` hosts on their own networks (10.231.N.0/24: the root side .1, the host .2), each with
 * loopback up. Only root can make them (`ip netns add`); CI runs as root.
 */
export function makeHosts(prefix: string, count: number): { hosts: NetHost[]; remove(): void } {
  removeStaleHosts(prefix);
  const hosts: NetHost[] = [];
  const remove = () => {
    for (const h of hosts) {
      try {
        ip("netns", "del", h.name);
      } catch {
        // already gone
      }
    }
  };
  try {
    for (let n = 1; n <= count; n++) {
      const name = `${prefix}${n}`;
      const outside = `${prefix}o${n}`.slice(-15);
      const inside = `${prefix}i${n}`.slice(-15);
      ip("netns", "add", name);
      hosts.push({ name, address: `10.231.${n}.2`, gateway: `10.231.${n}.1`, exec: ["ip", "netns", "exec", name] });
      ip("link", "add", outside, "type", "veth", "peer", "name", inside);
      ip("link", "set", inside, "netns", name);
      ip("addr", "add", `10.231.${n}.1/24`, "dev", outside);
      ip("link", "set", outside, "up");
      ip("-n", name, "addr", "add", `10.231.${n}.2/24`, "dev", inside);
      ip("-n", name, "link", "set", inside, "up");
      ip("-n", name, "link", "set", "lo", "up");
    }
  } catch (err) {
    remove();
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message;
    throw new Error(`cannot make the test's network hosts (ip netns, veth): ${why}. The many-host test needs root, as CI runs it.`);
  }
  return { hosts, remove };
}
