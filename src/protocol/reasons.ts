/**
 * Why a line was rejected: the values of `kissbot_bridge_rejected_lines_total{reason}`.
 * A public API: dashboards and alerts select on them.
 */
export const REJECT_REASONS = [
  "line_too_long",
  "empty_line",
  "invalid_utf8",
  "invalid_json",
  "not_an_object",
  "unknown_type",
  "invalid_channel",
  "invalid_pid",
  "missing_field",
  "invalid_field",
  "negative_value",
  "out_of_range",
  "invalid_text",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
