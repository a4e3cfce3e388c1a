import assert from "node:assert/strict";
import { join } from "node:path";
import { pino } from "pino";
import { parseCommandLine, type Config } from "../../src/config/config.js";
import { startBridge, type RunningBridge } from "../../src/main.js";
import { ManualClock } from "../../src/util/clock.js";
import type { ProcessSnapshot, ProcessSource } from "../../src/sampler/process-source.js";
import { sendOnce } from "./raw-client.js";
import { waitFor } from "./wait.js";

/**
 * A bridge in process whose life is scripted: an injected clock moved by the script, a table of
 * processes it kills and starts, and messages through the real socket, read back through the
 * real HTTP API. Each step waits until the bridge has acted on it, so every time it records is
 * the clock's, exactly.
 */
export const T = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every PID in the table runs, started at its value. */
export class ProcessTable implements ProcessSource {
  readonly running = new Map<number, number>();
  async inspect(pid: number): Promise<ProcessSnapshot | null> {
    const start = this.running.get(pid);
    return start === undefined ? null : { startTime: start, zombie: false, cpuSeconds: 1, rssBytes: 50_000_000 };
  }
}

function config(dir: string, extra: readonly string[]): Config {
  const parsed = parseCommandLine(["--socket", join(dir, "monitor.sock"), "--db", join(dir, "kissbot_monitor.db"), "--no-channel-logs", "--listen", "127.0.0.1:0", "--sample-interval", "0.1", ...extra], {});
  assert.equal(parsed.kind, "run");
  return (parsed as { config: Config }).config;
}

const quiet = pino({ level: "silent" });

type BotJson = { channel: string; status: string; last_heartbeat: string | null };

export class Script {
  readonly clock = new ManualClock(T("2026-09-30T20:00:00Z"));
  readonly procs = new ProcessTable();
  bridge: RunningBridge | undefined;
  private nextPid = 1000;
  readonly pids = new Map<string, number>();
  constructor(
    readonly dir: string,
    /** Flags beyond the socket, database and listen address (--timezone, --stale-after…). */
    private readonly flags: readonly string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.bridge!.httpAddress.port}`;
  }
  async start(): Promise<void> {
    this.bridge = await startBridge(config(this.dir, this.flags), quiet, { clock: this.clock, processSource: this.procs });
  }
  async stop(): Promise<void> {
    await this.bridge?.stop();
  }
  /** Moves the clock to `iso` (never back). */
  at(iso: string): void {
    const to = T(iso);
    assert.ok(to >= this.clock.now(), `the script goes forward (${iso})`);
    this.clock.advance(to - this.clock.now());
  }
  async bots(): Promise<BotJson[]> {
    return ((await (await fetch(`${this.url}/api/bots`)).json()) as { bots: BotJson[] }).bots;
  }
  async until(what: string, ok: (bots: BotJson[]) => boolean): Promise<void> {
    await waitFor(what, async () => (ok(await this.bots()) ? true : undefined));
  }
  async send(msg: object): Promise<void> {
    assert.equal(await sendOnce(join(this.dir, "monitor.sock"), `${JSON.stringify(msg)}\n`), true);
  }
  async register(channel: string): Promise<void> {
    const pid = this.nextPid++;
    this.procs.running.set(pid, pid);
    this.pids.set(channel, pid);
    await this.send({ type: "register", channel, pid });
    await this.until(`${channel} registered`, (b) => b.some((x) => x.channel === channel && x.status === "online"));
  }
  async heartbeat(...channels: string[]): Promise<void> {
    for (const channel of channels) await this.send({ type: "heartbeat", channel, pid: this.pids.get(channel) });
    const iso = new Date(this.clock.now()).toISOString();
    await this.until("heartbeats", (b) => channels.every((c) => b.some((x) => x.channel === c && x.last_heartbeat === iso)));
  }
  async kill(channel: string): Promise<void> {
    this.procs.running.delete(this.pids.get(channel)!);
    await this.until(`${channel} dead`, (b) => b.some((x) => x.channel === channel && x.status === "dead"));
  }
  async unregister(channel: string): Promise<void> {
    await this.send({ type: "unregister", channel, pid: this.pids.get(channel) });
    await this.until(`${channel} gone`, (b) => !b.some((x) => x.channel === channel));
  }
  /** Heartbeats every 12 h from now until `iso` (the bots' stale-after is a day). */
  async liveUntil(iso: string, channels: string[]): Promise<void> {
    while (this.clock.now() + 12 * HOUR < T(iso)) {
      this.clock.advance(12 * HOUR);
      await this.heartbeat(...channels);
    }
    this.at(iso);
    if (channels.length > 0) await this.heartbeat(...channels);
  }
  async json<X>(path: string): Promise<X> {
    const res = await fetch(`${this.url}${path}`);
    assert.equal(res.status, 200, path);
    return (await res.json()) as X;
  }
}

