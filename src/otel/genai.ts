/**
 * OpenTelemetry GenAI semantic conventions: bucket boundaries the spec recommends, and the
 * provider (`gen_ai.provider.name`) told from a model name. Two generations of instruments:
 *
 * - v1.41, the last GenAI release of open-telemetry/semantic-conventions (the default):
 *   `gen_ai.client.token.usage` (a histogram by `gen_ai.token.type`) and
 *   `gen_ai.client.operation.duration`;
 * - the current ones of open-telemetry/semantic-conventions-genai (model/gen-ai/token-metrics.yaml
 *   and metrics.yaml there, read at the time of writing), with
 *   OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental: counters
 *   `gen_ai.client.inference.usage.input_tokens` and `…output_tokens` (required
 *   `gen_ai.token.modality`), histograms `gen_ai.client.inference.operation.input_tokens` and
 *   `…output_tokens` (for percentiles), and `gen_ai.client.inference.duration` (genai#521).
 *
 * Neither defines a cost metric yet: cost is `kissbot.llm.cost` in both.
 */
/** v1.41's recommended boundaries for gen_ai.client.token.usage, used for the per-call token histograms of both generations. */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const OPERATION_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** Model name prefixes of well-known providers, with the spec's provider names. */
const KNOWN_PROVIDERS: [RegExp, string][] = [
  [/^(gpt-|o[1-9](-|$)|chatgpt|text-embedding-|dall-e|whisper|tts-|davinci|babbage)/i, "openai"],
  [/^claude/i, "anthropic"],
  [/^gemini/i, "gcp.gemini"],
  [/^(mistral|mixtral|codestral|ministral|pixtral|magistral)/i, "mistral_ai"],
  [/^command/i, "cohere"],
  [/^deepseek/i, "deepseek"],
  [/^grok/i, "x_ai"],
  [/^sonar/i, "perplexity"],
];

/**
 * `prefix=provider` pairs from configuration (for models the built-in table does not know, such
 * as self-hosted ones) are tried first, then the table. Undefined when nothing matches.
 */
export function providerResolver(configured: readonly [string, string][]): (model: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (model) => {
    if (cache.has(model)) return cache.get(model);
    const lower = model.toLowerCase();
    const fromConfig = configured.find(([prefix]) => lower.startsWith(prefix.toLowerCase()))?.[1];
    const provider = fromConfig ?? KNOWN_PROVIDERS.find(([re]) => re.test(model))?.[1];
    if (cache.size < 10_000) cache.set(model, provider);
    return provider;
  };
}
