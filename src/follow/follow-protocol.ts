/** A bot's llm_usage row as the follower thread hands it over, positional. */
export type FollowedRow = [id: number, ts: string, channel: unknown, model: unknown, feature: unknown, tokensIn: unknown, tokensOut: unknown, latencyMs: unknown, costUsd: unknown];

/** llm_totals: the running totals KissBot's bots keep (its cloud path records no per-call row). */
export interface RecordedTotals {
  tokensIn: number;
  tokensOut: number;
  calls: number;
}

export type FollowerReply =
  | { type: "rows"; rows: FollowedRow[]; totals: RecordedTotals | null }
  | { type: "totals"; totals: RecordedTotals | null }
  | { type: "error"; message: string }
  | { type: "stopped" };

export type FollowerRequest = { type: "ack" } | { type: "stop" };
