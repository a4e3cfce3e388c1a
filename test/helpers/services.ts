import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { waitFor } from "./wait.js";
import { BodyServer } from "./body-server.js";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Service {
  proc: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts a real program (Prometheus, Alertmanager) and waits until its /-/ready answers 200. */
export async function startService(name: string, command: string, args: string[], url: string): Promise<Service> {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => proc.once("exit", r));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      await exited;
    }
  };
  try {
    await waitFor(`${name} to be ready`, async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited: ${out.slice(-2000)}`);
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      return res?.ok ? true : undefined;
    }, 30_000, 100);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return { proc, url, output: () => out, stop };
}

export interface Notification {
  path: string;
  receivedAt: number;
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

/** An HTTP server standing in for the pager and the ticket system: records Alertmanager's webhooks. */
export class WebhookRecorder {
  readonly notifications: Notification[] = [];
  private readonly server = new BodyServer((req, body, res) => {
    try {
      const parsed = JSON.parse(body.toString("utf8")) as Omit<Notification, "path" | "receivedAt">;
      this.notifications.push({ path: req.url ?? "", receivedAt: Date.now(), status: parsed.status, alerts: parsed.alerts });
    } catch {}
    res.end("ok");
  });

  start(): Promise<void> {
    return this.server.start();
  }

  get port(): number {
    return this.server.port;
  }

  /** Firing alerts received on `path` that match every given label. */
  firing(path: string, labels: Record<string, string>) {
    return this.alerts(path, labels).filter((a) => a.status === "firing");
  }

  /** Every alert (firing and resolved) received on `path` that matches every given label, in order. */
  alerts(path: string, labels: Record<string, string> = {}) {
    return this.notifications
      .filter((n) => n.path === path)
      .flatMap((n) => n.alerts.map((a) => ({ ...a, receivedAt: n.receivedAt })))
      .filter((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v));
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
