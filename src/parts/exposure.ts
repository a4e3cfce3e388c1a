import { isIP } from "node:net";
import type { Logger } from "../log/logger.js";
import type { ReloadableWebConfig } from "../http/web-security.js";

const loopback = (host: string) => host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));

/**
 * Listening beyond loopback without a web config serves every bot's health and LLM spend, in
 * clear text, to whoever reaches the port: said once at start, with the flag that fixes it.
 */
export function warnIfExposed(log: Logger, host: string, web: ReloadableWebConfig | undefined): void {
  if (loopback(host)) return;
  const c = web?.current;
  if (c !== undefined && c.tls !== undefined && c.users.size > 0) return;
  const missing = c === undefined ? "no --web.config.file" : c.tls === undefined ? "a --web.config.file without tls_server_config (clear text)" : "a --web.config.file without basic_auth_users (no password)";
  log.warn({ listen: host, webConfig: c?.path ?? null }, `listening on ${host}, beyond loopback, with ${missing}: /metrics, the API and the status page (every bot's LLM spend) are open to whoever reaches this port. Give --web.config.file with tls_server_config and basic_auth_users (docs/many-hosts.md).`);
}
