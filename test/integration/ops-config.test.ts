import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

test("the secured way, as the shipped files show it commented: prometheus.yml's https scrape passes promtool, the compose file's command and volume pass docker-compose once uncommented", () => {
  const dir = mkdtempSync(join(tmpdir(), "kb-secure-"));
  const tls = join(dir, "kissbot-tls");
  mkdirSync(tls);
  writeFileSync(join(tls, "ca.crt"), "");
  writeFileSync(join(tls, "prometheus-password"), "pw");
  const prom = readFileSync(join(REPO_ROOT, "prometheus", "prometheus.yml"), "utf8");
  const uncommented = prom.replace(/^( {4})# ((?:scheme|tls_config|basic_auth|  ca_file|  username|  password_file):.*)$/gm, "$1$2").replaceAll("/etc/prometheus/kissbot-tls", tls).replace("- rules/*.yml", `- ${join(REPO_ROOT, "prometheus", "rules")}/*.yml`);
  for (const key of ["scheme: https", "tls_config:", "basic_auth:", "password_file:"]) assert.match(uncommented, new RegExp(`^ {4,6}${key}`, "m"), key);
  writeFileSync(join(dir, "prometheus.yml"), uncommented);
  const r = run("promtool", ["check", "config", join(dir, "prometheus.yml")]);
  assert.equal(r.status, 0, `${r.output}\n${uncommented}`);

  const compose = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
  const secured = compose
    .replace(/^ {4}command: \[.*\]\n/m, "")
    .replace(/^( {4})# (command: \[.*--web\.config\.file.*\])$/m, "$1$2")
    .replace(/^( {6})# (- \.\/prometheus\/kissbot-tls\/bridge:\/etc\/kissbot-bridge:ro)$/m, "$1$2");
  const file = join(REPO_ROOT, ".compose-secured.test.yml");
  writeFileSync(file, secured);
  try {
    const c = run("docker-compose", ["-f", file, "config"]);
    assert.equal(c.status, 0, c.output);
    assert.match(c.output, /--web\.config\.file/);
    assert.match(c.output, /kissbot-tls\/bridge:\/etc\/kissbot-bridge:ro/);
  } finally {
    rmSync(file);
  }
});

test("the Dockerfile's HEALTHCHECK passes against a bridge with and without TLS, and fails when none answers", async () => {
  const { startBridgeProcess } = await import("../helpers/bridge-process.js");
  const { makeCerts } = await import("../helpers/certs.js");
  const docker = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
  const script = JSON.parse(/HEALTHCHECK[^\n]*\n\s*CMD (\[.*\])/.exec(docker)![1]!)[2] as string;
  const check = (port: number) => spawnSync(process.execPath, ["-e", script.replace("9877", String(port))], { encoding: "utf8", timeout: 10_000 }).status;
  const plain = await startBridgeProcess();
  try {
    assert.equal(check(Number(new URL(plain.url).port)), 0, "over HTTP");
  } finally {
    await plain.stop();
  }
  const dir = mkdtempSync(join(tmpdir(), "kb-health-"));
  const certs = makeCerts(dir, ["127.0.0.1"]);
  writeFileSync(join(dir, "web.yml"), `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\nbasic_auth_users:\n  p: "$2b$10$4g7PQzGdvq8J5EgP/QPaXebMY.VtJxl3UsKnIJeaGb7Kcaca4JJbS"\n`);
  const secured = await startBridgeProcess(["--web.config.file", join(dir, "web.yml")], { dir });
  const port = Number(new URL(secured.url).port);
  try {
    assert.equal(check(port), 0, "over TLS, with basic auth on (/-/healthy stays open)");
  } finally {
    await secured.stop();
  }
  assert.equal(check(port), 1, "nothing listening");
});
