import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.js";
import { freePort, startService, WebhookRecorder, type Service } from "./services.js";

/** A Prometheus or Alertmanager duration ("1m30s", "667ms") in milliseconds. */
export function durationMs(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
  return ms;
}

/**
 * Every duration under one of `keys` in a YAML text, multiplied by `factor`: the shipped files
 * with every interval and threshold scaled by the same factor, so the ratios that decide the
 * races (scrape vs `for`, group_wait vs group_interval) stay the shipped ones.
 */
export function scaleDurations(yaml: string, factor: number, keys: readonly string[]): string {
  const re = new RegExp(`^(\\s*-?\\s*(?:${keys.join("|")}):\\s*)(\\d[\\dmsdh.]*)\\s*$`, "gm");
  return yaml.replace(re, (_m, head: string, d: string) => `${head}${Math.max(1, Math.round(durationMs(d) * factor))}ms`);
}

/** `interval` is a rule group's own evaluation interval (the availability rules' 5 m group). */
export const PROMETHEUS_KEYS = ["scrape_interval", "evaluation_interval", "interval", "for"] as const;
export const ALERTMANAGER_KEYS = ["group_wait", "group_interval", "repeat_interval", "resolve_timeout"] as const;

export interface AlertingStack {
  prometheus: Service;
  alertmanager: Service;
  webhook: WebhookRecorder;
  /** Where Prometheus scrapes the bridge: start the bridge with --listen on this address. */
  bridgeAddress: string;
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/**
 * The shipped prometheus.yml, rules and alertmanager.yml, run by the real Prometheus and
 * Alertmanager on this machine, with a webhook recorder as every receiver. `factor` scales every
 * interval and `for` of the shipped files (1 = as shipped); Prometheus's resend delay (1 m by
 * default) is scaled with them. Alertmanager starts first (field notes: a first notification
 * sent before Prometheus finds its Alertmanager is lost).
 */
export async function startAlertingStack(dir: string, factor: number): Promise<AlertingStack> {
  const webhook = new WebhookRecorder();
  await webhook.start();
  const amPort = await freePort();
  const amConfig = join(dir, "alertmanager.yml");
  const shippedAm = readFileSync(join(REPO_ROOT, "alertmanager", "alertmanager.yml"), "utf8");
  if (!shippedAm.includes("http://127.0.0.1:5001/")) throw new Error("alertmanager.yml no longer points its receivers at 127.0.0.1:5001");
  writeFileSync(amConfig, scaleDurations(shippedAm, factor, ALERTMANAGER_KEYS).replaceAll("http://127.0.0.1:5001/", `http://127.0.0.1:${webhook.port}/`));
  const alertmanager = await startService("alertmanager", "prometheus-alertmanager", [`--config.file=${amConfig}`, `--storage.path=${join(dir, "am-data")}`, `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address="], `http://127.0.0.1:${amPort}`);

  const bridgeAddress = `127.0.0.1:${await freePort()}`;
  const rulesDir = join(dir, "rules");
  const { mkdirSync, readdirSync } = await import("node:fs");
  mkdirSync(rulesDir, { recursive: true });
  for (const f of readdirSync(join(REPO_ROOT, "prometheus", "rules"))) {
    writeFileSync(join(rulesDir, f), scaleDurations(readFileSync(join(REPO_ROOT, "prometheus", "rules", f), "utf8"), factor, PROMETHEUS_KEYS));
  }
  let promYml = scaleDurations(readFileSync(join(REPO_ROOT, "prometheus", "prometheus.yml"), "utf8"), factor, PROMETHEUS_KEYS);
  for (const [from, to] of [
    ['"alertmanager:9093"', `"127.0.0.1:${amPort}"`],
    ['"bridge:9877"', `"${bridgeAddress}"`],
    ["- rules/*.yml", `- ${rulesDir}/*.yml`],
  ] as const) {
    if (!promYml.includes(from)) throw new Error(`prometheus.yml no longer has ${from}`);
    promYml = promYml.replaceAll(from, to);
  }
  const promConfig = join(dir, "prometheus.yml");
  writeFileSync(promConfig, promYml);
  const promPort = await freePort();
  const prometheus = await startService("prometheus", "prometheus", [
    `--config.file=${promConfig}`,
    `--storage.tsdb.path=${join(dir, "prom-data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    `--rules.alert.resend-delay=${Math.round(60_000 * factor)}ms`,
  ], `http://127.0.0.1:${promPort}`);
  const query = async (expr: string) => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  };
  return {
    prometheus,
    alertmanager,
    webhook,
    bridgeAddress,
    query,
    async stop() {
      await prometheus.stop();
      await alertmanager.stop();
      await webhook.stop();
    },
  };
}
