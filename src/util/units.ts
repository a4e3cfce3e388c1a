/** Bytes in a MiB: bots report `rss_mb` in these, and the database stores them so. */
export const MIB = 1024 * 1024;

export const KIB = 1024;

export const DAY_MS = 86_400_000;
