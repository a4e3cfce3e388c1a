/** Upper bounds in seconds: the OpenTelemetry GenAI recommendation for operation duration. */
export const LATENCY_BUCKETS_SECONDS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
] as const;

/** Index of the first bucket whose bound holds `seconds`; the +Inf bucket past the last. */
export function bucketIndex(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[i]!) i++;
  return i;
}
