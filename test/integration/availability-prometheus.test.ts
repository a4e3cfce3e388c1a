import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { freePort, startService } from "../helpers/services.js";
import { sendOnce } from "../helpers/raw-client.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { sleep, waitFor } from "../helpers/wait.js";

/**
 * The same availability two ways: the bridge's record (`uptime --json`) and a real Prometheus
 * running the shipped recording rules over the exported series, on an 80-second scenario (time
 * scaled down: scrapes and rule evaluations every 250 ms instead of 15 s). Prometheus sees each
 * transition up to a scrape and an evaluation late, at the start of the outage and at its end
 * alike, so the two lags mostly cancel. They must agree within one percentage point. (Every
 * 100 ms, Prometheus missed evaluations on a machine busy with other test files and disagreed by
 * 2.65 points; every 250 ms beside three busy loops on two cores, 81.61% and 81.65%.)
 */
test("a real Prometheus with the shipped rules agrees with uptime --json within one percentage point", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-availability-"));
  const bridge = await startBridgeProcess(["--sample-interval", "0.2", "--stale-after", "3600"], { dir });
  t.after(() => bridge.stop());
  const address = new URL(bridge.url).host;
  const config = join(dir, "prometheus.yml");
  const rules = ["kissbot-recording.yml", "kissbot-alerts.yml"].map((f) => join(REPO_ROOT, "prometheus", "rules", f));
  writeFileSync(config, `global:\n  scrape_interval: 250ms\n  evaluation_interval: 250ms\nrule_files:\n${rules.map((r) => `  - ${r}\n`).join("")}scrape_configs:\n  - job_name: kissbot-bridge\n    static_configs:\n      - targets: ["${address}"]\n`);
  const port = await freePort();
  const prometheus = await startService("prometheus", "prometheus", [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "prom")}`, `--web.listen-address=127.0.0.1:${port}`], `http://127.0.0.1:${port}`);
  t.after(() => prometheus.stop());
  const bots: ChildProcess[] = [];
  t.after(() => bots.forEach((b) => b.kill()));
  const start = async () => {
    const b = spawn("sleep", ["600"], { stdio: "ignore" });
    bots.push(b);
    await sendOnce(bridge.socket, `{"type":"register","channel":"prom_bot","pid":${b.pid}}\n`);
    return b;
  };
  const query = async (expr: string) => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result.map((r) => Number(r.value[1]));
  };

  // Prometheus applies new targets every 5 s: the bot registers once the bridge is scraped, so
  // both count from the same moment (a first try registered before and differed by 1 point).
  await waitFor("Prometheus scrapes the bridge", async () => ((await query('up{job="kissbot-bridge"}'))[0] === 1 ? true : undefined), 20_000);
  // Up 35 s, dead 15 s (killed without unregistering), up again 30 s.
  const first = await start();
  await waitFor("Prometheus sees the bot", async () => ((await query('channel:kissbot_bot_available:bool{channel="prom_bot"}')).length === 1 ? true : undefined), 20_000);
  await sleep(35_000);
  first.kill();
  await sleep(15_000);
  await start();
  await sleep(30_000);

  const cli = await runCli(["uptime", "prom_bot", "--since", "10m", "--json", "--url", bridge.url]);
  assert.equal(cli.code, 0, cli.stderr);
  const record = (JSON.parse(cli.stdout) as { channels: { availability: number; incidents: number; down_seconds: number }[] }).channels[0]!;
  const [fromPrometheus] = await query('avg_over_time(channel:kissbot_bot_available:bool{channel="prom_bot"}[10m])');
  assert.equal(record.incidents, 1);
  assert.ok(Math.abs(record.down_seconds - 15) < 2, `down ${record.down_seconds} s`);
  assert.ok(fromPrometheus !== undefined, "Prometheus has the rule's series");
  t.diagnostic(`the bridge ${(record.availability * 100).toFixed(2)}%, Prometheus ${(fromPrometheus * 100).toFixed(2)}%`);
  assert.ok(Math.abs(record.availability - fromPrometheus) <= 0.01, `the bridge says ${(record.availability * 100).toFixed(2)}%, Prometheus ${(fromPrometheus * 100).toFixed(2)}%`);
  // And the error ratio over the last hour, as the burn-rate alert reads it.
  const [burn1h] = await query('channel:kissbot_bot_unavailability:ratio_rate1h{channel="prom_bot"}');
  assert.ok(Math.abs(1 - record.availability - burn1h!) <= 0.01, `1 h unavailability ${burn1h}`);
});
