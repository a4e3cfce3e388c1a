import { startBridgeProcess, type BridgeProcess } from "../test/helpers/bridge-process.js";
import { finish, openStream, writeAll } from "../test/helpers/raw-client.js";
import { basicAuth, oneUserWebConfig } from "../test/helpers/basic-auth.js";

/**
 * A password flood against basic auth: the bridge with a web config (one user, bcrypt cost 10,
 * as hash-password makes them) streams 100,000 llm_usage lines on one connection while a
 * scraper with the right password scrapes every 250 ms, first alone (the baseline, in the same
 * run), then with 64 clients sending wrong passwords as fast as they are answered, each a new
 * guess (a brute force: none is known to fail, so each costs a bcrypt check unless refused).
 */
const LINES = 100_000;
const FLOODERS = 64;

const line = (i: number) => `{"type":"llm_usage","channel":"auth","model":"m","feature":"f","tokens_in":${i},"tokens_out":1}\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

interface Round {
  ingestS: number;
  scrapes: number[];
  failedScrapes: number;
  floodAttempts: number;
  floodAnswers: Record<string, number>;
}

async function round(bridge: BridgeProcess, good: string, bad: (n: number) => string, flood: boolean, offset: number): Promise<Round> {
  let stop = false;
  const answers = new Map<string, number>();
  let attempts = 0;
  const flooders = flood
    ? Array.from({ length: FLOODERS }, async () => {
        while (!stop) {
          attempts++;
          try {
            const r = await fetch(`${bridge.url}/metrics`, { headers: { authorization: bad(attempts) } });
            await r.arrayBuffer();
            answers.set(String(r.status), (answers.get(String(r.status)) ?? 0) + 1);
          } catch {
            answers.set("error", (answers.get("error") ?? 0) + 1);
          }
        }
      })
    : [];
  const scrapes: number[] = [];
  let failedScrapes = 0;
  const scraper = (async () => {
    while (!stop) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${bridge.url}/metrics`, { headers: { authorization: good } });
        await r.arrayBuffer();
        if (r.status === 200) scrapes.push(performance.now() - t0);
        else failedScrapes++;
      } catch {
        failedScrapes++;
      }
      await sleep(250);
    }
  })();
  await sleep(flood ? 2000 : 500);
  const t0 = performance.now();
  const s = await openStream(bridge.socket);
  let body = "";
  for (let i = 0; i < LINES; i++) body += line(offset + i);
  await writeAll(s, body);
  await finish(s);
  // Counted: read by the scraper's password, as Prometheus would.
  const target = offset + LINES;
  for (;;) {
    const r = await fetch(`${bridge.url}/metrics`, { headers: { authorization: good } });
    const m = /^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)/m.exec(await r.text());
    if (Number(m?.[1] ?? 0) >= target) break;
    await sleep(20);
  }
  const ingestS = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all([scraper, ...flooders]);
  return { ingestS, scrapes, failedScrapes, floodAttempts: attempts, floodAnswers: Object.fromEntries(answers) };
}

/** Rounds of each, alternating, so a drift in the machine's speed falls on both. */
const ROUNDS = 3;

export async function benchAuth(): Promise<{ alone: Round[]; flooded: Round[] }> {
  const { dir, web } = oneUserWebConfig("kb-bench-auth-", "prometheus", "right-password");
  const bridge = await startBridgeProcess(["--web.config.file", web], { dir });
  const basic = (p: string) => basicAuth("prometheus", p).authorization;
  try {
    const alone: Round[] = [];
    const flooded: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const offset0 = i;
      alone.push(await round(bridge, basic("right-password"), (n: number) => basic(`guess-${offset0}-${n}`), false, 2 * i * LINES));
      flooded.push(await round(bridge, basic("right-password"), (n: number) => basic(`guess-${offset0}-${n}`), true, (2 * i + 1) * LINES));
    }
    return { alone, flooded };
  } finally {
    await bridge.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function printAuth(r: Awaited<ReturnType<typeof benchAuth>>): void {
  const show = (xs: Round[]) => {
    const scrapes = xs.flatMap((x) => x.scrapes);
    return `ingest of ${LINES.toLocaleString("en")} streamed lines, median ${median(xs.map((x) => x.ingestS)).toFixed(2)} s (${xs.map((x) => x.ingestS.toFixed(2)).join(", ")}); scrapes ${scrapes.length} ok, ${xs.reduce((n, x) => n + x.failedScrapes, 0)} failed, p99 ${p99(scrapes).toFixed(0)} ms`;
  };
  const answers: Record<string, number> = {};
  for (const x of r.flooded) for (const [k, v] of Object.entries(x.floodAnswers)) answers[k] = (answers[k] ?? 0) + v;
  console.log(`basic auth under a password flood (${FLOODERS} clients sending a wrong password), ${ROUNDS} alternating rounds:`);
  console.log(`  alone (baseline): ${show(r.alone)}`);
  console.log(`  flooded: ${show(r.flooded)}; wrong attempts answered ${JSON.stringify(answers)}`);
  const ratios = r.alone.map((a, i) => a.ingestS / r.flooded[i]!.ingestS);
  console.log(`  ingest speed flooded / alone: median ${(median(r.alone.map((x) => x.ingestS)) / median(r.flooded.map((x) => x.ingestS))).toFixed(2)} (per round ${ratios.map((x) => x.toFixed(2)).join(", ")})`);
}
