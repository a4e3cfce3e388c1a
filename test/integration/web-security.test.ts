import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { makeCerts, type Certs } from "../helpers/certs.js";
import { CLI } from "../helpers/paths.js";
import { Samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";

type Answer = { status: number; headers: import("node:http").IncomingHttpHeaders; body: string };

function get(url: string, opts: { ca: Buffer; auth?: string; cert?: Buffer; key?: Buffer; path?: string }): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path: opts.path ?? "/metrics", ca: opts.ca, cert: opts.cert, key: opts.key, headers: opts.auth === undefined ? {} : { authorization: `Basic ${Buffer.from(opts.auth).toString("base64")}` } }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on("error", reject)
      .end();
  });
}

function hashOf(password: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, "hash-password"], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("exit", () => resolve(out.trim()));
    p.stdin.end(password);
  });
}

function webConfig(dir: string, certs: Certs, users: Record<string, string>, extra = ""): string {
  const path = join(dir, "web.yml");
  // Relative paths are read from the file's own folder, as exporter-toolkit does.
  writeFileSync(
    path,
    `tls_server_config:\n  cert_file: ${certs.serverCert.replace(`${dir}/`, "")}\n  key_file: ${certs.serverKey}\n${extra}basic_auth_users:\n${Object.entries(users).map(([u, h]) => `  ${u}: "${h}"`).join("\n")}\nhttp_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n`,
  );
  return path;
}

const https = (bridgeUrl: string) => bridgeUrl.replace(/^http:/, "https:");

test("--web.config.file: every endpoint over TLS behind basic auth (bcrypt), /-/healthy open; missing or wrong credentials 401 and counted; SIGHUP rereads users, a broken file keeps the running ones", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-web-"));
  const certs = makeCerts(dir, ["127.0.0.1", "localhost"]);
  const ca = readFileSync(certs.ca);
  const hash = await hashOf("s3cret pass");
  assert.match(hash, /^\$2[aby]\$10\$/);
  const path = webConfig(dir, certs, { prometheus: hash });
  const bridge = await startBridgeProcess(["--web.config.file", path], { dir });
  t.after(() => bridge.stop());
  const url = https(bridge.url);

  const none = await get(url, { ca });
  assert.equal(none.status, 401);
  assert.equal(none.headers["www-authenticate"], 'Basic realm="kissbot-bridge", charset="UTF-8"');
  assert.equal((await get(url, { ca, auth: "prometheus:wrong" })).status, 401);
  assert.equal((await get(url, { ca, auth: "nobody:s3cret pass" })).status, 401);
  for (const path of ["/", "/api/bots", "/api/v1/overview", "/bot/x", "/runbook"]) assert.equal((await get(url, { ca, path })).status, 401, `${path} needs credentials`);
  const ok = await get(url, { ca, auth: "prometheus:s3cret pass" });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers["strict-transport-security"], "max-age=31536000");
  const s = new Samples(ok.body);
  assert.equal(s.get("kissbot_bridge_http_refused_total", { reason: "unauthorized" }), 3 + 5);
  assert.equal((await get(url, { ca, path: "/-/healthy" })).status, 200, "health stays open");
  // Plain HTTP to the TLS port gets nothing readable.
  await assert.rejects(fetch(`${bridge.url}/metrics`));
  assert.ok(bridge.logs.some((l) => l["msg"] === "refused an HTTP request: credentials missing or wrong, or no valid client certificate (--web.config.file)"));

  // A new password, reread on SIGHUP.
  webConfig(dir, certs, { prometheus: await hashOf("new pass") });
  bridge.proc.kill("SIGHUP");
  await waitFor("the reload", () => bridge.logs.find((l) => l["msg"] === "web config reloaded"));
  assert.equal((await get(url, { ca, auth: "prometheus:s3cret pass" })).status, 401, "the old password no longer works, even cached");
  assert.equal((await get(url, { ca, auth: "prometheus:new pass" })).status, 200);
  writeFileSync(path, "basic_auth_users:\n  prometheus: not-a-hash\n");
  bridge.proc.kill("SIGHUP");
  const failed = await waitFor("the failed reload", () => bridge.logs.find((l) => l["msg"] === "web config reload failed; keeping the running one"));
  assert.match(String(failed["err"]), /basic_auth_users\.prometheus is not a bcrypt hash/);
  assert.equal((await get(url, { ca, auth: "prometheus:new pass" })).status, 200, "the running config kept");
});

test("client certificates: RequireAndVerifyClientCert refuses a client without one at the handshake and serves one signed by client_ca_file", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-web-"));
  const certs = makeCerts(dir, ["127.0.0.1"]);
  const ca = readFileSync(certs.ca);
  // (`extra` goes under tls_server_config)
  const path = webConfig(dir, certs, { prometheus: await hashOf("pw") }, `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${certs.ca}\n  min_version: TLS13\n`);
  const bridge = await startBridgeProcess(["--web.config.file", path], { dir });
  t.after(() => bridge.stop());
  const url = https(bridge.url);
  await assert.rejects(get(url, { ca, auth: "prometheus:pw" }), "no client certificate: the handshake fails");
  const ok = await get(url, { ca, auth: "prometheus:pw", cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) });
  assert.equal(ok.status, 200);
});

test("a bad web config stops the start with exit 2 naming the file and the key; listening beyond loopback without one warns, naming the flag", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-web-"));
  const bad = join(dir, "web.yml");
  writeFileSync(bad, "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n");
  const refused = await startBridgeProcess(["--web.config.file", bad]).catch((e: Error) => e);
  assert.ok(refused instanceof Error);
  assert.match(refused.message, /bridge exited with 2: kissbot-bridge: invalid --web\.config\.file: .*web\.yml: tls_server_config\.cipher_suites is not supported by kissbot-bridge/);
  const open = await startBridgeProcess(["--listen", "0.0.0.0:0"]);
  t.after(() => open.stop());
  const warning = open.logs.find((l) => typeof l["msg"] === "string" && (l["msg"] as string).startsWith("listening on 0.0.0.0, beyond loopback, with no --web.config.file"));
  assert.ok(warning, "warned");
  assert.match(String(warning["msg"]), /Give --web\.config\.file with tls_server_config and basic_auth_users/);
  const local = await startBridgeProcess();
  t.after(() => local.stop());
  assert.ok(!local.logs.some((l) => String(l["msg"]).includes("beyond loopback")), "no warning on loopback");
});
