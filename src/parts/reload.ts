import type { Logger } from "../log/logger.js";
import type { ReloadablePrices } from "../pricing/price-table.js";
import type { ReloadableBudgets } from "../spend/budget-file.js";

/**
 * SIGHUP: reloads the price table (--prices) and the budgets (--budgets). Each file on its own:
 * a bad one keeps its running version and never blocks the other.
 */
export function reloader(log: Logger, prices: ReloadablePrices, pricesFile: string | null, budgets: ReloadableBudgets | undefined): () => void {
  return () => {
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
