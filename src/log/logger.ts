import { pino, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Bytes of log lines waiting for stdout at most; past it, lines are dropped and counted. */
const MAX_BUFFERED_LOG_BYTES = 4 * 1024 * 1024;

export interface LogOutput {
  logger: Logger;
  /** Log lines dropped because stdout was not taking them (a stalled pipe, a hung log shipper). */
  dropped(): number;
  /** Writes out what is buffered, if stdout takes it; for the last lines before exit. */
  flush(): void;
}

/**
 * JSON lines on stdout (what journald, Docker and log shippers expect), written
 * asynchronously through a bounded buffer: pino's default synchronous writes would stop the
 * event loop, and with it ingest and /metrics, whenever stdout stops being read.
 */
export function createLogOutput(level: LogLevel): LogOutput {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 0, maxLength: MAX_BUFFERED_LOG_BYTES });
  let dropped = 0;
  destination.on("drop", () => dropped++);
  // A closed stdout (EPIPE) must not crash the bridge.
  destination.on("error", () => {});
  return {
    logger: pino({ level, base: { service: "kissbot-bridge" } }, destination),
    dropped: () => dropped,
    flush() {
      try {
        destination.flushSync();
      } catch {
        // stdout is not taking it: those lines are lost, as the counter says
      }
    },
  };
}

/** A logger for tests and tools: synchronous stdout, or nothing. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: "kissbot-bridge" } });
}
