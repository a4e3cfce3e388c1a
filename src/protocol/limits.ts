/** Protocol-level bounds on what a single message may carry. */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_]{1,64}$/;
/** Linux's pid_max cannot exceed 2^22; anything above 2^31-1 is certainly not a PID. */
export const MAX_PID = 2 ** 31 - 1;
/** Model, feature and custom metric names become label values: keep each short. */
export const MAX_NAME_LENGTH = 128;
/** Feature flags per register message. */
export const MAX_FEATURES = 64;
/** Tokens in one call, at most: more is a bug or an attack, and would let sums overflow. */
export const MAX_TOKENS = 1e9;
/** Latency of one call, at most (a day, in milliseconds). */
export const MAX_LATENCY_MS = 86_400_000;
/** Cost of one call, at most, in US dollars. */
export const MAX_COST_USD = 1e4;
/** A bot's own memory figure, at most (16 TiB, in MiB). */
export const MAX_RSS_MB = 16 * 1024 * 1024;
/** A bot's own CPU figure, at most (1,000 cores, in percent of one). */
export const MAX_CPU_PCT = 100_000;
