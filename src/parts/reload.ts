import type { Config } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import type { ReloadablePrices } from "../pricing/price-table.js";
import { ReloadableBudgets } from "../spend/budget-file.js";
import { ReloadableWebConfig } from "../http/web-security.js";
import type { WebConfig } from "../http/web-config.js";
import { ReloadableNotifyConfig, type NotifyConfig } from "../notify/notify-config.js";

/** The optional files SIGHUP rereads besides the prices: each absent when its flag is not given. */
export interface ReloadableFiles {
  budgets: ReloadableBudgets | undefined;
  web: ReloadableWebConfig | undefined;
  notify: ReloadableNotifyConfig | undefined;
}

/** Reads --budgets, --web.config.file and --notify-config; a bad file fails the start with what is wrong. */
export function reloadableFiles(config: Config): ReloadableFiles {
  return {
    budgets: config.budgets === null ? undefined : new ReloadableBudgets(config.budgets),
    web: config.webConfig === null ? undefined : new ReloadableWebConfig(config.webConfig),
    notify: config.notifyConfig === null ? undefined : new ReloadableNotifyConfig(config.notifyConfig),
  };
}

/**
 * SIGHUP: reloads the price table (--prices), the budgets (--budgets), the web config
 * (--web.config.file) and the routing file (--notify-config). Each file on its own: a bad one
 * keeps its running version and never blocks the others.
 */
export function reloader(log: Logger, prices: ReloadablePrices, pricesFile: string | null, { budgets, web, notify }: ReloadableFiles, http: { secure(c: WebConfig): void }, routes: (file: NotifyConfig) => void): () => void {
  return () => {
    if (notify !== undefined) {
      try {
        const file = notify.reload();
        routes(file);
        // Names and kinds only: URLs hold secrets.
        log.info({ signal: "SIGHUP", notifyConfig: { file: file.path, targets: file.targets.map((t) => t.name) } }, "notify config reloaded");
      } catch (err) {
        log.error({ signal: "SIGHUP", err: (err as Error).message }, "notify config reload failed; keeping the running targets");
      }
    }
    if (web !== undefined) {
      try {
        const { config, restartNeeded } = web.reload();
        http.secure(config);
        log.info({ signal: "SIGHUP", webConfig: { file: config.path, tls: config.tls !== undefined, users: config.users.size } }, "web config reloaded");
        if (restartNeeded !== undefined) log.warn({ signal: "SIGHUP", webConfig: config.path }, `web config: ${restartNeeded}; that takes a restart of the bridge (users, headers and certificates changed now)`);
      } catch (err) {
        log.error({ signal: "SIGHUP", err: (err as Error).message }, "web config reload failed; keeping the running one");
      }
    }
    try {
      const table = prices.reload();
      log.info({ signal: "SIGHUP", prices: { models: table.size, updated: table.updated, file: pricesFile } }, "reloaded");
    } catch (err) {
      log.error({ signal: "SIGHUP", err: (err as Error).message }, "reload failed; keeping the running configuration");
    }
    if (budgets === undefined) return;
    try {
      const table = budgets.reload();
      log.info({ signal: "SIGHUP", budgets: { channels: table.channels.size, file: table.path } }, "budgets reloaded");
    } catch (err) {
      log.error({ signal: "SIGHUP", err: (err as Error).message }, "budgets reload failed; keeping the running budgets");
    }
  };
}
