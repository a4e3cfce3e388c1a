import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../test/helpers/raw-client.js";

/**
 * 60,000 channels register, send an LLM call and a custom metric, and unregister, in turn,
 * against the real bridge process (database and per-bot logs on). Resident memory and V8's used
 * heap (as the bridge exports it) are read at the start and after every 10,000 channels, once
 * the bridge has caught up, then again after a full garbage collection; a leak per channel
 * would grow the collected heap in step.
 */
export async function benchChurn(total = 60_000, step = 10_000) {
  // A heap snapshot starts with a full garbage collection: asking for one (SIGUSR2) shows what
  // is still referenced, apart from garbage V8 had not yet collected.
  const snapshots = mkdtempSync(join(tmpdir(), "kb-bench-heap-"));
  const bridge = await startBridgeProcess(["--log-level", "info"], { env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}` } });
  const pid = bridge.proc.pid!;
  const read = async () => {
    const body = (await bridge.scrape()).body;
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
    const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(body)?.[1]);
    const unregisters = Number(/^kissbot_bridge_messages_total\{message_type="unregister"\} (\d+)/m.exec(body)?.[1] ?? 0);
    const bots = Number(/^kissbot_bridge_bots\{status="online"\} (\d+)/m.exec(body)?.[1] ?? 0);
    return { rss, heap, unregisters, bots };
  };
  const collected = async () => {
    const before = readdirSync(snapshots).length;
    process.kill(pid, "SIGUSR2");
    while (readdirSync(snapshots).length === before) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 2000)); // the snapshot written out
    const p = await read();
    rmSync(snapshots, { recursive: true, force: true });
    mkdirSync(snapshots);
    return { rssAfterGc: p.rss, heapAfterGc: p.heap };
  };
  await new Promise((r) => setTimeout(r, 2000));
  const points: { channels: number; rss: number; heap: number; bots: number; rssAfterGc: number; heapAfterGc: number }[] = [{ channels: 0, ...(await read()), ...(await collected()) }];
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
    points.push({ channels: done + step, ...(await read()), ...(await collected()) });
  }
  const dir = bridge.dir;
  await bridge.stop();
  return { dir, points };
}
