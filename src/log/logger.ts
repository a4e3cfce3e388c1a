import { pino, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** JSON lines on stdout (pino's default): what journald, Docker and log shippers expect. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: "kissbot-bridge" } });
}
