import { connect } from "node:net";

/**
 * Sends `total` llm_usage lines to a Unix socket, either one connection per message (the stock
 * Python client's way, `concurrency` connections in flight) or streamed on one connection.
 * Exits once the server has closed every connection, which it does after reading all of it.
 */
const [path = "", mode = "connections", totalRaw = "0", concurrencyRaw = "64"] = process.argv.slice(2);
const total = Number(totalRaw);
const concurrency = Number(concurrencyRaw);
const line = (i: number) =>
  `{"type":"llm_usage","channel":"bench_${i % 50}","model":"model_${i % 5}","feature":"feature_${i % 5}","tokens_in":${100 + (i % 7)},"tokens_out":${50 + (i % 3)},"latency_ms":${(i % 2000) + 10}}\n`;

async function perConnection(): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await new Promise<void>((resolve) => {
        const s = connect({ path }, () => s.end(line(i)));
        s.on("close", () => resolve());
        s.on("error", () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function streamed(): Promise<void> {
  const s = connect({ path });
  await new Promise((r) => s.once("connect", r));
  const batch = 1000;
  for (let i = 0; i < total; i += batch) {
    let chunk = "";
    for (let j = i; j < Math.min(total, i + batch); j++) chunk += line(j);
    if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
  }
  // Done when the server closes its end: it has read every line by then.
  await new Promise<void>((r) => {
    s.once("close", () => r());
    s.end();
  });
}

await (mode === "stream" ? streamed() : perConnection());
