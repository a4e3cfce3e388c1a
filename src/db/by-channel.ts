/**
 * llm_usage has no index on `ts` of its own: every insert, the bridge's and the bots', would
 * pay for one more b-tree. A time range across channels is read through KissBot's
 * `(channel, ts)` index instead, one channel at a time. `LLM_CHANNELS` (a recursive CTE) lists
 * the channels by seeking that index once per channel, without walking the table.
 */
export const LLM_CHANNELS = `llm_channels(name) AS (
    SELECT MIN(channel) FROM llm_usage
    UNION ALL
    SELECT (SELECT MIN(channel) FROM llm_usage WHERE llm_usage.channel > llm_channels.name) FROM llm_channels WHERE llm_channels.name IS NOT NULL)`;

/**
 * Every channel's rows whose `ts` compares with the next parameter by `op`, as a FROM clause
 * (needs LLM_CHANNELS in the WITH RECURSIVE). CROSS JOIN keeps the channels the outer loop, so
 * each channel's range is one seek of the index.
 */
export function llmRowsByTs(op: ">=" | "<"): string {
  return `llm_channels CROSS JOIN llm_usage ON llm_usage.channel = llm_channels.name AND llm_usage.ts ${op} ?`;
}

/** The usage retention's DELETE (on the writer thread) of every channel's rows older than the parameter. */
export const DELETE_LLM_USAGE_BEFORE = `WITH RECURSIVE ${LLM_CHANNELS} DELETE FROM llm_usage WHERE channel IN (SELECT name FROM llm_channels) AND ts < ?`;
