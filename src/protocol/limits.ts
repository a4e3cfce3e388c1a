/** Protocol-level bounds on what a single message may carry. */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_]{1,64}$/;
/** Linux's pid_max cannot exceed 2^22; anything above 2^31-1 is certainly not a PID. */
export const MAX_PID = 2 ** 31 - 1;
/** Model, feature and custom metric names become label values: keep each short. */
export const MAX_NAME_LENGTH = 128;
/** Feature flags per register message. */
export const MAX_FEATURES = 64;
