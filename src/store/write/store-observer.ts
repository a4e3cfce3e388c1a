import type { RegistryObserver } from "../../registry/bot-registry.js";
import type { Bot } from "../../registry/bot.js";
import type { StoreWriter } from "./store-writer.js";

/** Keeps bot_status in step with the registry, and writes a bot_metrics row per process sample. */
export function storeObserver(store: StoreWriter): RegistryObserver {
  const state = (bot: Bot) => store.botState(bot);
  return {
    registered: state,
    heartbeat: state,
    identified: state,
    statusChanged: state,
    sampled(bot) {
      store.botState(bot);
      store.sample(bot, bot.rssBytes, bot.cpuRatio);
    },
    unregistered: (bot) => store.botState(bot, "offline"),
  };
}
