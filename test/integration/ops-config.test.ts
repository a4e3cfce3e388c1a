import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/paths.js";

function run(command: string, args: string[]) {
  const r = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(r.error, undefined, `${command} is installed (scripts/install-test-deps.sh)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test("promtool: the shipped config and rules are valid", () => {
  const config = run("promtool", ["check", "config", "prometheus/prometheus.yml"]);
  assert.equal(config.status, 0, config.output);
  const rules = run("promtool", ["check", "rules", "prometheus/rules/kissbot-alerts.yml", "prometheus/rules/kissbot-recording.yml"]);
  assert.equal(rules.status, 0, rules.output);
});

test("promtool test rules: every alert fires where it must and stays silent where it must not", () => {
  const r = run("promtool", ["test", "rules", "prometheus/tests/kissbot-alerts.test.yml"]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS/);
  // Every alert of the rules file has a case in the tests.
  const alerts = [...readFileSync(join(REPO_ROOT, "prometheus", "rules", "kissbot-alerts.yml"), "utf8").matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  const tests = readFileSync(join(REPO_ROOT, "prometheus", "tests", "kissbot-alerts.test.yml"), "utf8");
  for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a} has a firing case`);
  for (const a of ["KissBotStale", "KissBotDown"]) assert.match(tests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts: \\[\\]`), `${a} has a silent case`);
});

test("amtool: the shipped Alertmanager configuration is valid", () => {
  const r = run("amtool", ["check-config", "alertmanager/alertmanager.yml"]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /1 inhibit rules/);
});

test("docker-compose validates the compose file, which mounts the shipped files", () => {
  const r = run("docker-compose", ["-f", "docker-compose.yml", "config"]);
  assert.equal(r.status, 0, r.output);
  for (const mount of ["/prometheus:/etc/prometheus:ro", "/alertmanager:/etc/alertmanager:ro", "/grafana/provisioning:/etc/grafana/provisioning:ro", "/grafana/dashboards:/var/lib/grafana/dashboards:ro"]) {
    assert.ok(r.output.includes(mount), `compose mounts ${mount}`);
  }
  assert.match(r.output, /pid: host/);
});

test("the Dockerfile is multi-stage, runs as a non-root user and has a HEALTHCHECK", () => {
  const text = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
  assert.ok(text.match(/^FROM /gm)!.length >= 2);
  assert.match(text, /^USER (?!root\b)\w+/m);
  assert.match(text, /^HEALTHCHECK .*\n?.*\/-\/healthy/m);
  assert.match(text, /npm prune --omit=dev/);
  // Whatever the npm package ships for run time is in the image too.
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { files: string[] };
  for (const f of pkg.files.filter((x) => !/\.md$/.test(x) || x === "docs/runbook.md")) {
    assert.match(text, new RegExp(`^COPY (--from=build /app/)?${f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} `, "m"), `the image gets ${f}`);
  }
});

test("amtool: the commented Discord, Slack and e-mail receivers are valid once uncommented, as an owner would", () => {
  const shipped = readFileSync(join(REPO_ROOT, "alertmanager", "alertmanager.yml"), "utf8");
  // Uncomment every example block (a "# name_configs:" line and the indented lines under it),
  // with the placeholders filled in.
  const uncommented = shipped
    .replace(/^( +)# ((?:discord|slack|email)_configs:)$/gm, "$1$2")
    .replace(/^( +)#( {2,}.*)$/gm, "$1$2")
    .replace("<id>/<token>", "123456789/abcdef")
    .replace("<T>/<B>/<secret>", "T000/B000/xyz")
    .replace("<password>", "secret");
  for (const kind of ["discord_configs:", "slack_configs:", "email_configs:"]) assert.match(uncommented, new RegExp(`^ {4}${kind}$`, "m"), kind);
  const dir = mkdtempSync(join(tmpdir(), "kb-am-"));
  writeFileSync(join(dir, "alertmanager.yml"), uncommented);
  const r = run("amtool", ["check-config", join(dir, "alertmanager.yml")]);
  assert.equal(r.status, 0, `${r.output}\n${uncommented}`);
  assert.match(r.output, /3 receivers/);
});
