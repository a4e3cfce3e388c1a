/// <reference lib="dom" />
import { launch } from "../test/helpers/browser.js";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../test/helpers/raw-client.js";

/**
 * The status page in Debian's Chromium, against the real bridge: time from navigation to the
 * bots table holding every bot, with 1,000 bots and with 10 (the baseline, same run), median of
 * 5 loads each; and the size of the first live message.
 */
export async function benchPage(rounds = 5) {
  const browser = await launch();
  const out: Record<number, { ms: number[]; firstMessageBytes: number }> = {};
  try {
    for (const bots of [10, 1000]) {
      const bridge = await startBridgeProcess(["--log-level", "info", "--sample-interval", "5"]);
      const s = await openStream(bridge.socket);
      let text = "";
      for (let i = 0; i < bots; i++) text += `{"type":"register","channel":"bot_${i}","pid":${process.pid},"features":{"llm":true,"trivia":${i % 2 === 0}}}\n`;
      await writeAll(s, text);
      await finish(s);
      await new Promise((r) => setTimeout(r, 6000)); // a sampling round for every bot
      const ms: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
        await page.goto(`${bridge.url}/`);
        await page.waitForFunction((n) => document.querySelectorAll("#bots tbody tr").length === n, bots, { timeout: 30_000 });
        ms.push(await page.evaluate(() => performance.now()));
        await page.close();
      }
      const res = await fetch(`${bridge.url}/api/v1/bots`);
      out[bots] = { ms, firstMessageBytes: (await res.arrayBuffer()).byteLength };
      await bridge.stop();
    }
  } finally {
    await browser.close();
  }
  return out;
}
