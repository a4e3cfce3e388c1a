import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { FIXTURES } from "./paths.js";
import { waitFor } from "./wait.js";
import { PYTHON } from "./python.js";

/** A real bot process (test/fixtures/bot.py) using a stock-like Python MonitorClient. */
export class PythonBot {
  readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private consumed = 0;
  pid = 0;

  private constructor(channel: string, socket: string, wrap: string[]) {
    const [command, ...prefix] = [...wrap, PYTHON];
    this.proc = spawn(command!, [...prefix, join(FIXTURES, "bot.py"), channel], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, KISSBOT_MONITOR_SOCKET: socket },
    });
    createInterface({ input: this.proc.stdout! }).on("line", (l) => this.lines.push(l));
  }

  /** `wrap`: a command the bot runs under, such as `ip netns exec HOST`. */
  static async start(channel: string, socket: string, wrap: string[] = []): Promise<PythonBot> {
    const bot = new PythonBot(channel, socket, wrap);
    const first = await bot.next();
    bot.pid = Number(first.split(" ")[1]);
    return bot;
  }

  private async next(): Promise<string> {
    const line = await waitFor("a reply from the python bot", () => this.lines[this.consumed]);
    this.consumed++;
    return line;
  }

  /** Runs one command; resolves with what the client method returned ("True" or "False"). */
  async send(command: string): Promise<string> {
    this.proc.stdin!.write(`${command}\n`);
    const reply = await this.next();
    return reply.split(" ").slice(2).join(" ");
  }

  /** SIGKILL, and wait until the OS has reaped it. */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGKILL");
    await gone;
  }

  async exit(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin!.end("exit\n");
    await gone;
  }
}
