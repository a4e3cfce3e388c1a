import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { PythonBot } from "../test/helpers/python-bot.js";
import { ChatReceiver } from "../test/helpers/chat-receiver.js";
import { waitFor } from "../test/helpers/wait.js";

/**
 * From a killed bot to its Discord message, with the bridge's shipped settings (--notify-grace
 * 60, --sample-interval 15, --notify-group-wait 5) and bots heartbeating every 30 s as
 * KissBot's client does; a stand-in for Discord records the messages. Alongside, a bot
 * restarted by its supervisor after 20 s, which must say nothing. About 2 minutes.
 */
export interface NotifyResult {
  killToMessageS: number;
  alertsInMessage: number;
  quickRestartMessages: number;
}

export async function benchNotify(): Promise<NotifyResult> {
  const chat = await new ChatReceiver().start();
  const bridge = await startBridgeProcess(["--notify", `discord=${chat.url("/discord")}`]);
  const bots = new Map<string, PythonBot>();
  try {
    for (const channel of ["victim", "restarted", "healthy"]) {
      const bot = await PythonBot.start(channel, bridge.socket);
      bots.set(channel, bot);
      await bot.send("register {}");
      await bot.send("start_heartbeat 30");
    }
    await waitFor("three bots up", async () => ((await bridge.samples()).sum("kissbot_bot_up") === 3 ? true : undefined), 60_000, 500);
    const killedAt = Date.now();
    await bots.get("victim")!.kill();
    await bots.get("restarted")!.kill();
    await new Promise((r) => setTimeout(r, 20_000));
    const again = await PythonBot.start("restarted", bridge.socket);
    bots.set("restarted", again);
    await again.send("register {}");
    const [first] = await chat.waitDelivered("/discord", 1, 150_000);
    // A further minute: the restarted bot must stay silent.
    await new Promise((r) => setTimeout(r, 60_000));
    const all = chat.delivered("/discord");
    return {
      killToMessageS: (first!.at - killedAt) / 1000,
      alertsInMessage: first!.body.embeds.length,
      quickRestartMessages: all.filter((m) => JSON.stringify(m.body).includes("restarted")).length,
    };
  } finally {
    for (const b of bots.values()) await b.kill();
    await bridge.stop();
    await chat.stop();
  }
}
