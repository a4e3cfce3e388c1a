#!/usr/bin/env node
import { helpText, parseCommandLine } from "./config/config.js";
import { createLogOutput } from "./log/logger.js";
import { startBridge } from "./main.js";
import { VERSION } from "./version.js";
import { statusCommand, usageCommand } from "./cli/subcommands.js";
import { raiseOpenFilesLimit } from "./util/open-files.js";

const SHUTDOWN_DEADLINE_MS = 5000;

const SUBCOMMANDS: Record<string, typeof statusCommand> = { status: statusCommand, usage: usageCommand };

async function run(): Promise<void> {
  const sub = SUBCOMMANDS[process.argv[2] ?? ""];
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
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  // Without a handler Node exits on SIGHUP (systemctl reload, a closed terminal, kill -HUP).
  process.on("SIGHUP", () => bridge?.reload());
  const files = raiseOpenFilesLimit();
  if (files?.raised) log.info({ openFiles: files.soft }, "raised the open-files limit to its hard limit");
  try {
    bridge = await startBridge(parsed.config, log, { logDrops: output.dropped });
  } catch (err) {
    output.flush();
    process.stderr.write(`kissbot-bridge: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const exit = (code: number) => {
      output.flush();
      process.exit(code);
    };
    setTimeout(() => {
      log.error("shutdown took too long; exiting");
      exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    bridge!.stop().then(
      () => exit(0),
      (err: unknown) => {
        log.error({ err }, "error during shutdown");
        exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

void run();
