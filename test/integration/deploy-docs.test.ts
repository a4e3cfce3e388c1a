import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/paths.js";

test("docs/deploy.md's systemd unit passes systemd-analyze verify", () => {
  assert.equal(spawnSync("systemd-analyze", ["--version"]).status, 0, "systemd-analyze is installed (scripts/install-test-deps.sh installs systemd)");
  const md = readFileSync(join(REPO_ROOT, "docs", "deploy.md"), "utf8");
  const unit = /```ini\n# \/etc\/systemd\/system\/kissbot-bridge\.service\n([\s\S]*?)```/.exec(md)?.[1];
  assert.ok(unit, "deploy.md holds the unit");
  const dir = mkdtempSync(join(tmpdir(), "kb-unit-"));
  const file = join(dir, "kissbot-bridge.service");
  // verify checks that ExecStart's program exists: point it at this machine's node for the check.
  writeFileSync(file, unit!.replace("/usr/bin/kissbot-bridge", process.execPath));
  const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
  const complaints = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.includes("kissbot-bridge.service"));
  assert.deepEqual(complaints, [], complaints.join("\n"));
  for (const key of ["WorkingDirectory=", "Restart=on-failure", "ProtectSystem=strict", "ExecReload=", "User="]) assert.ok(unit!.includes(key), key);
});
