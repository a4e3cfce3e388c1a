import { spawnSync } from "node:child_process";

/**
 * Tests that need no root use unprivileged user namespaces (on by default in Debian 12). Where a
 * kernel forbids them, the test fails with one line naming the setting, never skips.
 */
export function requireUserNamespaces(): void {
  const r = spawnSync("unshare", ["--user", "true"], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`unprivileged user namespaces are off here (unshare --user: ${(r.stderr || r.error?.message || "").trim()}); turn them on with: sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000`);
  }
}
