import { PythonBot } from "./python-bot.js";
import { until, type BridgeProcess } from "./bridge-process.js";

// The notifier's shipped settings scaled down: a sample every 0.2 s (15 s shipped), stale after
// 1.5 s (120), a grace of 2 s (60), groups of 1 s (5), a reminder every 4 s (4 h), flapping at 3
// falls within 5 s (15 min).
export const SAMPLE_S = 0.2;
export const GRACE_S = 2;
export const SCALED = ["--sample-interval", String(SAMPLE_S), "--stale-after", "1.5", "--notify-grace", `${GRACE_S}s`, "--notify-group-wait", "1s", "--notify-repeat", "4s", "--notify-flap-count", "3", "--notify-flap-window", "5s"];
/** What a Discord webhook URL carries after its host: the secret. */
export const SECRET = "1234567890/aBcDeF-sEcReT-tOkEn";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Python bot as KissBot's, registered and heartbeating every 0.3 s. */
export async function liveBot(channel: string, socket: string): Promise<PythonBot> {
  const bot = await PythonBot.start(channel, socket);
  await bot.send('register {"llm": true}');
  await bot.send("start_heartbeat 0.3");
  return bot;
}

export async function allOnline(bridge: BridgeProcess, channels: string[]): Promise<void> {
  await until(bridge, `${channels.join(", ")} online`, (s) => channels.every((channel) => s.get("kissbot_bot_status", { channel, status: "online" }) === 1 && s.get("kissbot_bot_up", { channel }) === 1));
}

/** The titles of a Discord message's embeds: what a person reads first. */
export const titles = (m: { body: { embeds: { title: string }[] } }) => m.body.embeds.map((e) => e.title);
