#!/usr/bin/env node
import { helpText, parseCommandLine } from "./config/config.js";
import { createLogOutput } from "./log/logger.js";
import { startBridge } from "./main.js";
import { VERSION } from "./version.js";
import { statusCommand, usageCommand } from "./cli/subcommands.js";
import { notifyCommand, snoozeCommand, unsnoozeCommand } from "./cli/notify-commands.js";
import { hashPasswordCommand } from "./cli/hash-password.js";
import { pricesCommand } from "./cli/prices-command.js";
import { uptimeCommand } from "./cli/uptime-command.js";
import { raiseOpenFilesLimit } from "./util/open-files.js";
import { internalErrors } from "./util/guard.js";

/**
 * A last resort only: stop() ends by itself within about 5 s (each step is bounded, and what
 * the database does not take in time is set aside in its journal).
 */
const SHUTDOWN_DEADLINE_MS = 10_000;

const SUBCOMMANDS = new Map([["status", statusCommand], ["usage", usageCommand], ["snooze", snoozeCommand], ["unsnooze", unsnoozeCommand], ["notify", notifyCommand], ["hash-password", hashPasswordCommand], ["prices", pricesCommand], ["uptime", uptimeCommand]]);

async function run(): Promise<void> {
  const sub = SUBCOMMANDS.get(process.argv[2] ?? "");
  if (sub !== undefined) {
    try {
      process.exitCode = await sub(process.argv.slice(3), process.env, { stdout: process.stdout, stderr: process.stderr });
    } catch (err) {
      process.stderr.write(`kissbot-bridge: ${(err as Error).message.split("\n")[0]}\n`);
      process.exitCode = 2;
    }
    return;
  }
  const parsed = parseCommandLine(process.argv.slice(2), process.env);
  switch (parsed.kind) {
    case "help":
      process.stdout.write(helpText());
      return;
    case "version":
      process.stdout.write(`${VERSION}\n`);
      return;
    case "error":
      process.stderr.write(`kissbot-bridge: ${parsed.message}\n`);
      process.exitCode = 2;
      return;
  }
  const output = createLogOutput(parsed.config.logLevel);
  const log = output.logger;
  // Signals are handled from before the first socket listens: a SIGTERM that arrives between
  // "ready" and the end of startBridge() must stop the bridge cleanly, not kill it.
  let starting: ReturnType<typeof startBridge> | undefined;
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  // Without a handler Node exits on SIGHUP (systemctl reload, a closed terminal, kill -HUP).
  process.on("SIGHUP", () => bridge?.reload());
  let stopping = false;
  // Exit code: 0 when nothing accepted was lost, 1 when rows were dropped or a fault ended the run.
  const shutdown = (signal: string, failed = false) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const exit = (code: number) => {
      output.flush();
      process.exit(code);
    };
    // Held, not unref'd: it keeps the process until the stop ends or the deadline passes. While a
    // stop waits on a worker thread's reply, nothing else may be holding the event loop, and Node
    // would end the process with code 0 and no "stopped" line.
    setTimeout(() => {
      log.error("shutdown took too long; exiting");
      exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    if (starting === undefined) return exit(failed ? 1 : 0);
    starting.then((b) => b.stop()).then(
      (report) => exit(failed || report.droppedRows > 0 ? 1 : 0),
      (err: unknown) => {
        log.error({ err }, "error during shutdown");
        exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  const files = raiseOpenFilesLimit();
  if (files?.raised) log.info({ openFiles: files.soft }, "raised the open-files limit to its hard limit");
  try {
    starting = startBridge(parsed.config, log, { logDrops: output.dropped });
    bridge = await starting;
  } catch (err) {
    output.flush();
    process.stderr.write(`kissbot-bridge: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // What still escapes every guard: the queue is committed or set aside, then the bridge exits 1.
  const fatal = (kind: string) => (err: unknown) => {
    internalErrors.report("process", err);
    log.fatal({ err, kind }, "an error escaped every handler; stopping");
    shutdown(kind, true);
  };
  process.on("uncaughtException", fatal("uncaughtException"));
  process.on("unhandledRejection", fatal("unhandledRejection"));
}

void run();
