import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { SecureVersion } from "node:tls";
import { isMap, isScalar, type YAMLMap } from "yaml";
import { readYamlFile } from "../util/yaml-file.js";

/**
 * The exporter-toolkit web configuration (--web.config.file), as node_exporter, the blackbox
 * exporter and Prometheus itself read it: TLS, client certificates, basic auth users with bcrypt
 * hashes, and response headers. Keys this bridge does not implement are refused by name, not
 * ignored: a setting that silently does nothing is worse than a start that says so.
 */
export const CLIENT_AUTH_TYPES = ["NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface TlsSettings {
  cert: Buffer;
  key: Buffer;
  clientAuth: ClientAuthType;
  clientCa: Buffer | undefined;
  minVersion: SecureVersion;
  maxVersion: SecureVersion | undefined;
}

export interface WebConfig {
  path: string;
  tls: TlsSettings | undefined;
  /** user → bcrypt hash; empty: no authentication. */
  users: Map<string, string>;
  headers: Map<string, string>;
}

const VERSIONS = new Map<string, SecureVersion>([
  ["TLS10", "TLSv1"],
  ["TLS11", "TLSv1.1"],
  ["TLS12", "TLSv1.2"],
  ["TLS13", "TLSv1.3"],
]);

/** The headers exporter-toolkit lets a web config set; others are refused, as it does. */
const HEADERS = ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection", "Strict-Transport-Security"];

const TLS_KEYS = new Set(["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"]);

class WebConfigError extends Error {}

function entries(map: YAMLMap, where: string): Array<[string, unknown]> {
  return map.items.map((p) => {
    if (!isScalar(p.key) || typeof p.key.value !== "string") throw new WebConfigError(`${where}: keys are names`);
    return [p.key.value, p.value];
  });
}

function text(node: unknown, where: string): string {
  if (!isScalar(node) || typeof node.value !== "string" || node.value === "") throw new WebConfigError(`${where} must be a string`);
  return node.value;
}

function readPem(file: string, base: string, where: string): Buffer {
  const path = isAbsolute(file) ? file : resolve(base, file);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new WebConfigError(`${where}: cannot read ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
}

function tlsSettings(node: unknown, base: string): TlsSettings {
  if (!isMap(node)) throw new WebConfigError("tls_server_config must be a mapping");
  const v = new Map<string, unknown>();
  for (const [k, value] of entries(node, "tls_server_config")) {
    if (!TLS_KEYS.has(k)) throw new WebConfigError(`tls_server_config.${k} is not supported by kissbot-bridge (supported: ${[...TLS_KEYS].join(", ")})`);
    v.set(k, value);
  }
  if (!v.has("cert_file") || !v.has("key_file")) throw new WebConfigError("tls_server_config needs cert_file and key_file");
  const clientAuth = v.has("client_auth_type") ? text(v.get("client_auth_type"), "tls_server_config.client_auth_type") : "NoClientCert";
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(clientAuth)) throw new WebConfigError(`tls_server_config.client_auth_type must be one of ${CLIENT_AUTH_TYPES.join(", ")}, not ${JSON.stringify(clientAuth)}`);
  const verifies = clientAuth === "VerifyClientCertIfGiven" || clientAuth === "RequireAndVerifyClientCert";
  if (verifies && !v.has("client_ca_file")) throw new WebConfigError(`tls_server_config.client_auth_type ${clientAuth} needs client_ca_file`);
  const version = (key: string, def: string | undefined) => {
    const name = v.has(key) ? text(v.get(key), `tls_server_config.${key}`) : def;
    if (name === undefined) return undefined;
    const mapped = VERSIONS.get(name);
    if (mapped === undefined) throw new WebConfigError(`tls_server_config.${key} must be one of ${[...VERSIONS.keys()].join(", ")}, not ${JSON.stringify(name)}`);
    return mapped;
  };
  return {
    cert: readPem(text(v.get("cert_file"), "tls_server_config.cert_file"), base, "tls_server_config.cert_file"),
    key: readPem(text(v.get("key_file"), "tls_server_config.key_file"), base, "tls_server_config.key_file"),
    clientAuth: clientAuth as ClientAuthType,
    clientCa: v.has("client_ca_file") ? readPem(text(v.get("client_ca_file"), "tls_server_config.client_ca_file"), base, "tls_server_config.client_ca_file") : undefined,
    minVersion: version("min_version", "TLS12")!,
    maxVersion: version("max_version", undefined),
  };
}

function users(node: unknown): Map<string, string> {
  if (!isMap(node)) throw new WebConfigError("basic_auth_users must be a mapping of user name to bcrypt hash");
  const out = new Map<string, string>();
  for (const [user, hash] of entries(node, "basic_auth_users")) {
    const h = text(hash, `basic_auth_users.${user}`);
    if (!/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(h)) throw new WebConfigError(`basic_auth_users.${user} is not a bcrypt hash (make one with: npx kissbot-bridge hash-password)`);
    if (user.includes(":")) throw new WebConfigError(`basic_auth_users: a user name cannot contain ":" (${JSON.stringify(user)})`);
    out.set(user, h);
  }
  return out;
}

function serverConfig(node: unknown): Map<string, string> {
  if (!isMap(node)) throw new WebConfigError("http_server_config must be a mapping");
  const headers = new Map<string, string>();
  for (const [k, value] of entries(node, "http_server_config")) {
    if (k === "http2") continue; // Go's HTTP/2 switch: this bridge serves HTTP/1.1, which every scraper speaks.
    if (k !== "headers") throw new WebConfigError(`http_server_config.${k} is not supported by kissbot-bridge (supported: headers, http2)`);
    if (!isMap(value)) throw new WebConfigError("http_server_config.headers must be a mapping");
    for (const [name, v] of entries(value, "http_server_config.headers")) {
      const canonical = HEADERS.find((h) => h.toLowerCase() === name.toLowerCase());
      if (canonical === undefined) throw new WebConfigError(`http_server_config.headers.${name} cannot be set (allowed: ${HEADERS.join(", ")})`);
      headers.set(canonical, text(v, `http_server_config.headers.${name}`));
    }
  }
  return headers;
}

/** Reads and checks a web configuration file. Throws an Error naming the file and what is wrong. */
export function loadWebConfig(path: string): WebConfig {
  const { doc } = readYamlFile(path);
  try {
    const config: WebConfig = { path, tls: undefined, users: new Map(), headers: new Map() };
    if (doc.contents === null) return config;
    if (!isMap(doc.contents)) throw new WebConfigError("the file must be a mapping (tls_server_config, basic_auth_users, http_server_config)");
    for (const [key, value] of entries(doc.contents, "the file")) {
      if (key === "tls_server_config") config.tls = tlsSettings(value, dirname(path));
      else if (key === "basic_auth_users") config.users = users(value);
      else if (key === "http_server_config") config.headers = serverConfig(value);
      else throw new WebConfigError(`${key} is not a key of a web configuration (tls_server_config, basic_auth_users, http_server_config)`);
    }
    return config;
  } catch (err) {
    if (err instanceof WebConfigError) throw new Error(`${path}: ${err.message}`);
    throw err;
  }
}
