import type { Logger } from "../log/logger.js";
import type { ReloadablePrices } from "../pricing/price-table.js";
import type { ReloadableBudgets } from "../spend/budget-file.js";
import type { ReloadableWebConfig } from "../http/web-security.js";
import type { WebConfig } from "../http/web-config.js";

/**
 * SIGHUP: reloads the price table (--prices), the budgets (--budgets) and the web config
 * (--web.config.file). Each file on its own: a bad one keeps its running version and never
 * blocks the others.
 */
export function reloader(log: Logger, prices: ReloadablePrices, pricesFile: string | null, budgets: ReloadableBudgets | undefined, web: { config: ReloadableWebConfig; apply(c: WebConfig): void } | undefined): () => void {
  return () => {
    if (web !== undefined) {
      try {
        const { config, restartNeeded } = web.config.reload();
        web.apply(config);
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
