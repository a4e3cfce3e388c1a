import { appendFile, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import type { LifecycleEvent } from "../status/bot-history.js";
import { CHANNEL_PATTERN } from "../protocol/limits.js";
import { join } from "node:path";
import type { RegistryObserver } from "../registry/bot-registry.js";
import type { Bot, BotStatus } from "../registry/bot.js";
import type { Clock } from "../util/clock.js";
import type { RateLimitedLog } from "../log/rate-limited-log.js";
import { MIB } from "../util/units.js";
import { withDefaults, type WithDefaults } from "../util/defaults.js";

export type ChannelLogOptions = {
  dir: string;
  /** A file past this size is rotated: instance.log → instance.log.1 → … */
  maxBytes?: number;
  /** Rotated files kept. */
  keep?: number;
  /** Lines waiting to be written per channel at most; further ones are dropped and counted. */
  maxPendingLines?: number;
  /** Mode of new log files (folders get the same, plus search): private to the bridge's user and group by default. */
  fileMode?: number;
};

/** A folder's mode from a file's: whoever may read a file may also enter its folder. */
const dirMode = (fileMode: number) => fileMode | ((fileMode & 0o444) >> 2);

/** `leaving`: the bot unregistered; the entry goes once its last lines are written. */
type Channel = { pending: string[]; writing: Promise<void> | undefined; size: number | undefined; leaving: boolean };

/**
 * A log per bot, as the original Monitor kept: DIR/{channel}/instance.log with its registration,
 * state changes and a health line per process sample. Written asynchronously (never on the ingest
 * path), rotated by size. Channel names are [A-Za-z0-9_] (the decoder checks), so they are safe
 * as directory names.
 */
export class ChannelLog implements RegistryObserver {
  #errors = 0;
  get errors(): number {
    return this.#errors;
  }
  #dropped = 0;
  get dropped(): number {
    return this.#dropped;
  }
  private readonly channels = new Map<string, Channel>();

  private readonly options: WithDefaults<ChannelLogOptions, "maxBytes" | "keep" | "maxPendingLines" | "fileMode">;

  constructor(
    options: ChannelLogOptions,
    private readonly clock: Clock,
    private readonly log: RateLimitedLog,
  ) {
    this.options = withDefaults(options, { maxBytes: MIB, keep: 3, maxPendingLines: 1000, fileMode: 0o640 });
  }

  registered(bot: Bot, replacedPid: number | null, implicit: boolean): void {
    const how = implicit ? "registered implicitly by a heartbeat" : "registered";
    this.write(bot.channel, "INFO", `${how} pid=${bot.pid}${replacedPid === null ? "" : ` replacing pid=${replacedPid}`} features=${JSON.stringify(bot.features)}`);
  }

  statusChanged(bot: Bot, from: BotStatus, why: string): void {
    const level = bot.status === "online" ? "INFO" : bot.status === "stale" ? "WARNING" : "ERROR";
    const what = bot.status === "online" ? "back online" : bot.status;
    this.write(bot.channel, level, `${what} (was ${from}): ${why} pid=${bot.pid}`);
  }

  sampled(bot: Bot): void {
    const cpu = bot.cpuRatio === null ? "?" : `${(bot.cpuRatio * 100).toFixed(1)}%`;
    const rss = bot.rssBytes === null ? "?" : `${(bot.rssBytes / MIB).toFixed(1)} MB`;
    this.write(bot.channel, "INFO", `health pid=${bot.pid} cpu=${cpu} rss=${rss}`);
  }

  unregistered(bot: Bot): void {
    this.write(bot.channel, "INFO", `unregistered (graceful exit) pid=${bot.pid}`);
    const c = this.channels.get(bot.channel);
    if (c !== undefined) c.leaving = true;
  }

  /** Channels with a writer held in memory (bots that have not unregistered, or whose last lines are being written). */
  get openChannels(): number {
    return this.channels.size;
  }

  /**
   * Removes the folders of channels that no bot uses and whose log was last written longer ago
   * than `olderThanMs`: 60,000 channels that came and went leave no folders behind for good.
   * Only folders holding the bridge's instance.log are touched.
   */
  async prune(olderThanMs: number, inUse: (channel: string) => boolean): Promise<number> {
    const cutoff = this.clock.now() - olderThanMs;
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch {
      return 0; // no folder yet
    }
    for (const name of names) {
      if (inUse(name) || this.channels.has(name)) continue;
      const dir = join(this.options.dir, name);
      try {
        const files = await readdir(dir);
        if (!files.includes("instance.log") || files.some((f) => !/^instance\.log(\.\d+)?$/.test(f))) continue;
        if ((await stat(join(dir, "instance.log"))).mtimeMs >= cutoff) continue;
        await rm(dir, { recursive: true });
        removed++;
      } catch (err) {
        this.#errors++;
        this.log.warn("channel-log", { err: (err as Error).message, channel: name }, "cannot remove an old bot's log folder");
      }
    }
    return removed;
  }

  /**
   * The bot's latest lifecycle events (not its health lines), newest first, read back from the
   * end of its log: they outlive a restart of the bridge, unlike what it holds in memory.
   */
  async recentEvents(channel: string, limit: number): Promise<LifecycleEvent[]> {
    // The name comes from a URL here: only a channel name may become a path.
    if (!CHANNEL_PATTERN.test(channel)) return [];
    const file = join(this.options.dir, channel, "instance.log");
    let text: string;
    try {
      const h = await open(file, "r");
      try {
        const { size } = await h.stat();
        const length = Math.min(size, TAIL_BYTES);
        const buf = Buffer.alloc(length);
        await h.read(buf, 0, length, size - length);
        text = buf.toString("utf8");
        // A read that starts inside a line drops that line.
        if (length < size) text = text.slice(text.indexOf("\n") + 1);
      } finally {
        await h.close();
      }
    } catch {
      return [];
    }
    const out: LifecycleEvent[] = [];
    const lines = text.split("\n");
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const e = parseEvent(channel, lines[i]!);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** Resolves when every line queued so far is on disk (or failed). */
  async drain(): Promise<void> {
    while ([...this.channels.values()].some((c) => c.writing !== undefined)) {
      await Promise.all([...this.channels.values()].map((c) => c.writing));
    }
  }

  private write(channel: string, level: string, text: string): void {
    let c = this.channels.get(channel);
    if (c === undefined) this.channels.set(channel, (c = { pending: [], writing: undefined, size: undefined, leaving: false }));
    c.leaving = false;
    if (c.pending.length >= this.options.maxPendingLines) {
      this.#dropped++;
      return;
    }
    c.pending.push(`${new Date(this.clock.now()).toISOString()} ${level} ${text}\n`);
    if (c.writing === undefined) c.writing = this.pump(channel, c);
  }

  /** One writer per channel, so lines stay in order and rotation never races an append. */
  private async pump(channel: string, c: Channel): Promise<void> {
    const dir = join(this.options.dir, channel);
    const file = join(dir, "instance.log");
    try {
      while (c.pending.length > 0) {
        const chunk = c.pending.join("");
        c.pending = [];
        if (c.size === undefined) {
          await mkdir(dir, { recursive: true, mode: dirMode(this.options.fileMode) });
          c.size = await stat(file).then((s) => s.size, () => 0);
        }
        if (c.size > 0 && c.size + chunk.length > this.options.maxBytes) {
          await this.rotate(file);
          c.size = 0;
        }
        await appendFile(file, chunk, { mode: this.options.fileMode });
        c.size += Buffer.byteLength(chunk);
      }
    } catch (err) {
      this.#errors++;
      c.size = undefined;
      this.log.warn("channel-log", { err: (err as Error).message, channel }, "cannot write the bot's log");
    } finally {
      c.writing = undefined;
      if (c.leaving && c.pending.length === 0 && this.channels.get(channel) === c) this.channels.delete(channel);
    }
  }

  private async rotate(file: string): Promise<void> {
    const keep = this.options.keep;
    for (let i = keep - 1; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
    await rename(file, `${file}.1`);
  }
}

/** How much of the end of a bot's log is read back for its recent events. */
const TAIL_BYTES = 64 * 1024;

/** One line this log wrote, back as an event; undefined for health lines and anything else. */
function parseEvent(channel: string, line: string): LifecycleEvent | undefined {
  const m = /^(\S+) (INFO|WARNING|ERROR) (.*)$/.exec(line);
  if (m === null) return undefined;
  const at = Date.parse(m[1]!);
  if (Number.isNaN(at)) return undefined;
  const text = m[3]!;
  let r: RegExpExecArray | null;
  if ((r = /^(registered(?: implicitly by a heartbeat)?) pid=(\d+)(?: replacing pid=(\d+))?/.exec(text)) !== null) {
    return { at, channel, pid: Number(r[2]), event: "registered", detail: r[3] === undefined ? r[1]! : `${r[1]}, replacing PID ${r[3]}` };
  }
  if ((r = /^(back online|stale|dead) \(was (\w+)\): (.*) pid=(\d+)$/.exec(text)) !== null) {
    return { at, channel, pid: Number(r[4]), event: r[1] === "back online" ? "online" : r[1]!, detail: `${r[3]} (was ${r[2]})` };
  }
  if ((r = /^unregistered \(graceful exit\) pid=(\d+)$/.exec(text)) !== null) return { at, channel, pid: Number(r[1]), event: "unregistered", detail: "graceful exit" };
  if ((r = /^registration refused: (.*)$/.exec(text)) !== null) return { at, channel, pid: Number(/PID (\d+)/.exec(r[1]!)?.[1] ?? 0), event: "refused", detail: r[1]! };
  return undefined;
}
