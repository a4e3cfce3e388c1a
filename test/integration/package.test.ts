import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The package as users get it: `npm pack`, installed from the tarball into an empty folder, then
 * run from there. better-sqlite3 is installed without its build script and given the binary this
 * checkout already compiled for the same version (compiling it again takes minutes and proves
 * nothing about our package); any other version is compiled as npm would.
 */
const run = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

test("npm pack → install the tarball in an empty folder → the CLI, a real run with the status page, and the client from .mjs and TypeScript", { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-package-"));
  // --ignore-scripts: `prepare` would build the whole project again; `npm test` has just built it.
  const packed = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], REPO_ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const needed of ["dist/src/cli.js", "dist/src/client/index.d.ts", "prices/llm-prices.yaml", "web/index.html", "web/app.js", "docs/runbook.md"]) assert.ok(files.includes(needed), `${needed} is in the tarball`);
  assert.deepEqual(files.filter((f) => f.startsWith("dist/test") || f.startsWith("dist/bench") || f.startsWith("src/")), [], "no tests, benchmarks or sources");

  const app = join(dir, "app");
  run("mkdir", ["-p", app], dir);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "an-app", private: true, type: "module" }));
  run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", join(dir, packed[0]!.filename)], app);
  const ours = JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "better-sqlite3", "package.json"), "utf8")) as { version: string };
  const theirs = JSON.parse(readFileSync(join(app, "node_modules", "better-sqlite3", "package.json"), "utf8")) as { version: string };
  if (ours.version === theirs.version) cpSync(join(REPO_ROOT, "node_modules", "better-sqlite3", "build"), join(app, "node_modules", "better-sqlite3", "build"), { recursive: true });
  else run("npm", ["rebuild", "better-sqlite3"], app);
  const bin = join(app, "node_modules", ".bin", "kissbot-bridge");
  assert.ok(existsSync(bin));

  const version = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(run("npx", ["--no-install", "kissbot-bridge", "--version"], app).trim(), version.version);
  assert.match(run("npx", ["--no-install", "kissbot-bridge", "--help"], app), /--budgets FILE/);

  // A short real run from the installed package: the status page, its vendored chart library,
  // the shipped price table and the runbook all come from the tarball.
  const bridge = await startBridgeProcess([], { bin });
  t.after(() => bridge.stop());
  const page = await fetch(`${bridge.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /KissBot fleet/);
  assert.equal((await fetch(`${bridge.url}/web/vendor/uPlot.iife.min.js`)).status, 200);
  assert.equal((await fetch(`${bridge.url}/runbook`)).status, 200);

  // The client, imported by its public name from plain JavaScript…
  writeFileSync(
    join(app, "bot.mjs"),
    `import { MonitorClient } from "kissbot-bridge/client";
const c = new MonitorClient({ channel: "packaged_bot", pid: Number(process.argv[3]), socketPath: process.argv[2] });
console.log(await c.register({ llm: true }), await c.logLlmUsage({ model: "gpt-4o", feature: "ask", tokensIn: 10, tokensOut: 5 }));
`,
  );
  // It registers with this test's PID: its own process ends at once, and a bot whose process is
  // gone is forgotten at the bridge's first look (--unseen-pids refuse).
  assert.equal(run("node", ["bot.mjs", bridge.socket, String(process.pid)], app).trim(), "true true");
  await waitFor("the packaged client's call counted", async () => ((await bridge.samples()).get("kissbot_llm_requests_total", { channel: "packaged_bot", model: "gpt-4o", feature: "ask" }) === 1 ? true : undefined));

  // …and from TypeScript, with its types: a correct use compiles, a wrong one does not.
  const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const options = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node", "--typeRoots", join(REPO_ROOT, "node_modules", "@types")];
  writeFileSync(join(app, "good.mts"), `import { MonitorClient, type LlmUsage } from "kissbot-bridge/client";\nconst usage: LlmUsage = { model: "m", feature: "f", tokensIn: 1, tokensOut: 2 };\nconst ok: Promise<boolean> = new MonitorClient({ channel: "c", pid: 1 }).logLlmUsage(usage);\nvoid ok;\n`);
  run("node", [tsc, ...options, "good.mts"], app);
  writeFileSync(join(app, "bad.mts"), `import { MonitorClient } from "kissbot-bridge/client";\nnew MonitorClient({ channel: "c" });\n`);
  const bad = spawnSync("node", [tsc, ...options, "bad.mts"], { cwd: app, encoding: "utf8" });
  assert.notEqual(bad.status, 0, "a missing pid is a type error");
  assert.match(bad.stdout, /pid/);

  // The installed CLI's status command reads the installed bridge.
  const status = JSON.parse(run("npx", ["--no-install", "kissbot-bridge", "status", "--json", "--url", bridge.url], app)) as { bots: { channel: string }[] };
  assert.deepEqual(status.bots.map((b) => b.channel), ["packaged_bot"]);
});
