import { request, Agent } from "node:http";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../test/helpers/raw-client.js";
import { waitFor } from "../test/helpers/wait.js";

/**
 * /metrics across a network: a bridge holding 1,000 bots × 25 LLM series (model × feature)
 * scraped by `concurrency` clients at once, plainly and asking for gzip as Prometheus does; and
 * one scrape alone, the baseline measured in the same run. Bytes are those on the wire.
 */
export interface ScrapeResult {
  bytes: { plain: number; gzip: number };
  aloneMs: { plain: number; gzip: number };
  concurrent: { plain: { p50: number; p99: number }; gzip: { p50: number; p99: number } };
  concurrency: number;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

function scrape(url: URL, gzip: boolean, agent: Agent): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    request({ host: url.hostname, port: url.port, path: "/metrics", agent, headers: gzip ? { "accept-encoding": "gzip" } : {} }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ ms: performance.now() - t, bytes }));
    })
      .on("error", reject)
      .end();
  });
}

export async function benchScrapes(bots = 1000, models = 5, features = 5, concurrency = 200): Promise<ScrapeResult> {
  const bridge = await startBridgeProcess(["--no-db", "--no-channel-logs", "--unseen-pids", "accept", "--max-bots", String(bots), "--max-llm-series", String(bots * models * features), "--max-label-values", "1000"]);
  try {
    const s = await openStream(bridge.socket);
    const lines: string[] = [];
    for (let b = 0; b < bots; b++) {
      const channel = `channel_${b}`;
      lines.push(JSON.stringify({ type: "register", channel, pid: 1_000_000 + b, features: { llm: true } }));
      for (let m = 0; m < models; m++) for (let f = 0; f < features; f++) lines.push(JSON.stringify({ type: "llm_usage", channel, model: `model_${m}`, feature: `feature_${f}`, tokens_in: 100, tokens_out: 50, latency_ms: 300 + 100 * m }));
    }
    await writeAll(s, `${lines.join("\n")}\n`);
    await finish(s);
    await waitFor("every call counted", async () => ((await bridge.samples()).sum("kissbot_llm_requests_total") === bots * models * features ? true : undefined), 60_000, 500);
    const url = new URL(bridge.url);
    // A connection per scrape, as Prometheus servers spread over hosts would open: no reuse of a
    // socket the server is closing for idleness (keep-alive races end in "socket hang up").
    const agent = new Agent({ keepAlive: false, maxSockets: concurrency });
    const alone = async (gzip: boolean) => {
      const xs: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 7; i++) {
        const r = await scrape(url, gzip, agent);
        xs.push(r.ms);
        bytes = r.bytes;
      }
      return { ms: pct(xs, 50), bytes };
    };
    const together = async (gzip: boolean) => {
      const xs: number[] = [];
      for (let round = 0; round < 3; round++) xs.push(...(await Promise.all(Array.from({ length: concurrency }, () => scrape(url, gzip, agent)))).map((r) => r.ms));
      return { p50: pct(xs, 50), p99: pct(xs, 99) };
    };
    const plainAlone = await alone(false);
    const gzipAlone = await alone(true);
    const result: ScrapeResult = {
      bytes: { plain: plainAlone.bytes, gzip: gzipAlone.bytes },
      aloneMs: { plain: plainAlone.ms, gzip: gzipAlone.ms },
      concurrent: { plain: await together(false), gzip: await together(true) },
      concurrency,
    };
    agent.destroy();
    return result;
  } finally {
    await bridge.stop();
  }
}
