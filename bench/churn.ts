import { readFileSync } from "node:fs";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../test/helpers/raw-client.js";

/**
 * 60,000 channels register, send an LLM call and a custom metric, and unregister, in turn,
 * against the real bridge process (database and per-bot logs on). Resident memory and V8's used
 * heap (as the bridge exports it) are read at the start and after every 10,000 channels, once
 * the bridge has caught up; a leak per channel would grow them in step.
 */
export async function benchChurn(total = 60_000, step = 10_000) {
  const bridge = await startBridgeProcess(["--log-level", "info"]);
  const pid = bridge.proc.pid!;
  const read = async () => {
    const body = (await bridge.scrape()).body;
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
    const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(body)?.[1]);
    const unregisters = Number(/^kissbot_bridge_messages_total\{message_type="unregister"\} (\d+)/m.exec(body)?.[1] ?? 0);
    const bots = Number(/^kissbot_bridge_bots\{status="online"\} (\d+)/m.exec(body)?.[1] ?? 0);
    return { rss, heap, unregisters, bots };
  };
  await new Promise((r) => setTimeout(r, 2000));
  const points: { channels: number; idle?: boolean; rss: number; heap: number; bots: number }[] = [{ channels: 0, ...(await read()) }];
  for (let done = 0; done < total; done += step) {
    const s = await openStream(bridge.socket);
    for (let i = done; i < done + step; i += 500) {
      let text = "";
      for (let j = i; j < i + 500; j++) {
        const c = `churn_${j}`;
        text += `{"type":"register","channel":"${c}","pid":${process.pid},"features":{"llm":true}}\n{"type":"llm_usage","channel":"${c}","model":"m","feature":"f","tokens_in":1,"tokens_out":1}\n{"type":"custom_metric","channel":"${c}","metric_name":"q","value":1}\n{"type":"unregister","channel":"${c}","pid":${process.pid}}\n`;
      }
      await writeAll(s, text);
    }
    await finish(s);
    let p = await read();
    while (p.unregisters < done + step) {
      await new Promise((r) => setTimeout(r, 200));
      p = await read();
    }
    await new Promise((r) => setTimeout(r, 3000)); // the last commits and log writes
    points.push({ channels: done + step, ...(await read()) });
  }
  // V8 collects an idle process's garbage on its own (its memory reducer): read once more after a quiet spell.
  await new Promise((r) => setTimeout(r, 30_000));
  points.push({ channels: total, idle: true, ...(await read()) });
  const dir = bridge.dir;
  await bridge.stop();
  return { dir, points };
}
