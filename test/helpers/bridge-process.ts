import { spawn, type ChildProcess } from "node:child_process";
import { after } from "node:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CLI } from "./paths.js";
import { Samples } from "./samples.js";
import { waitFor } from "./wait.js";

export interface BridgeProcess {
  proc: ChildProcess;
  socket: string;
  dir: string;
  url: string;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  scrape(accept?: string): Promise<{ status: number; contentType: string; body: string }>;
  samples(): Promise<Samples>;
  /** Sends SIGTERM (or the given signal) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

const LIVE = new Set<ChildProcess>();
// After the last test of the file that imported this helper: a bridge a failed test never got to
// stop would otherwise hold the file's process (and the whole run) open for good.
// Only under the test runner: the benchmarks use this helper too, and a hook outside a test run
// would start one.
if (process.env["NODE_TEST_CONTEXT"] !== undefined) {
  after(() => {
    for (const p of LIVE) p.kill("SIGKILL");
  });
}

/** Starts the compiled CLI on a fresh socket in a temp dir and an ephemeral HTTP port. */
export async function startBridgeProcess(args: string[] = [], opts: { dir?: string; socket?: string; env?: Record<string, string>; bare?: boolean; bin?: string; uid?: number; gid?: number; wrap?: string[] } = {}): Promise<BridgeProcess> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "kb-test-"));
  const socket = opts.socket ?? join(dir, "monitor.sock");
  // Database and per-bot logs in the test's own directory, never in the repository. `bare`: only
  // an ephemeral port (the test's own flags say where the rest goes).
  const defaults = opts.bare
    ? ["--listen", "127.0.0.1:0", "--log-level", "debug"]
    : ["--socket", socket, "--listen", "127.0.0.1:0", "--log-level", "debug", "--db", join(dir, "kissbot_monitor.db"), "--channel-log-dir", join(dir, "logs")];
  // `bin`: another copy of the CLI (the package installed from its tarball).
  // `wrap`: a command the bridge runs under, such as `ip netns exec HOST` (another network host).
  const [command, ...prefix] = [...(opts.wrap ?? []), process.execPath];
  const proc = spawn(command!, [...prefix, opts.bin ?? CLI, ...defaults, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    // `uid`: as an unprivileged user, for whom file permissions hold (root ignores them).
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid ?? opts.uid }),
    // Only what the test says: an OTEL_* or KISSBOT_* variable from the outside must not change the bridge.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OTEL_|KISSBOT_)/.test(k))), ...opts.env },
  });
  LIVE.add(proc);
  proc.once("exit", () => LIVE.delete(proc));
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ raw: line });
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  // Needs the info-level "ready" line: callers must not raise --log-level above info.
  const ready = await waitFor("the bridge to be ready", () => {
    if (exitCode !== undefined) throw new Error(`bridge exited with ${exitCode}: ${stderr}`);
    return logs.find((l) => l["msg"] === "kissbot-bridge ready");
  }).catch((err: unknown) => {
    proc.kill("SIGKILL"); // never leave a child behind to hang the test run
    throw err;
  });
  const url = `http://${String(ready["http"])}`;
  const scrape = async (accept?: string) => {
    const res = await fetch(`${url}/metrics`, { headers: accept ? { accept } : {} });
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: await res.text() };
  };
  return {
    proc,
    socket,
    dir,
    url,
    logs,
    scrape,
    samples: async () => new Samples((await scrape()).body),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (exitCode === undefined) proc.kill(signal);
      return exited;
    },
    exited,
  };
}

/** The bridge's metrics once `ok` holds for them (polled), or a timeout naming `what`. */
export async function until(bridge: BridgeProcess, what: string, ok: (s: Samples) => boolean, timeoutMs = 10_000): Promise<Samples> {
  return waitFor(what, async () => {
    const s = await bridge.samples();
    return ok(s) ? s : undefined;
  }, timeoutMs);
}
