/** A bot's llm_usage row as the follower's read hands it over, positional. */
export type FollowedRow = [id: number, ts: string, channel: unknown, model: unknown, feature: unknown, tokensIn: unknown, tokensOut: unknown, latencyMs: unknown, costUsd: unknown];

/** llm_totals: the running totals KissBot's bots keep (its cloud path records no per-call row). */
export interface RecordedTotals {
  tokensIn: number;
  tokensOut: number;
  calls: number;
}

/** Rows after `afterId` (null: after the position saved in the database), `limit` at most. */
export type FollowArgs = { afterId: number | null; limit: number };

export interface FollowResult {
  /** Where the read started: `afterId`, or the saved position (the first read, or a file replaced since the last). */
  from: number;
  rows: FollowedRow[];
  /** The position once these rows are counted. */
  next: number;
  totals: RecordedTotals | null;
}
