import { test } from "node:test";
import assert from "node:assert/strict";
import { OVERFLOW_LABEL, UsageBook } from "../../src/usage/usage-book.js";

test("usage series are bounded per channel too, and a channel's slot is freed when its bot unregisters", () => {
  const book = new UsageBook({ maxLabelValues: 100, maxChannels: 2 });
  const llm = (channel: string) => ({ type: "llm_usage" as const, channel, model: "m", feature: "f", tokensIn: 1, tokensOut: 1, latencyMs: null, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null });
  assert.equal(book.recordLlm(llm("a")), "ok");
  assert.equal(book.recordCustom({ type: "custom_metric", channel: "b", metricName: "q", value: 1 }), "ok");
  assert.equal(book.recordLlm(llm("c")), "label_limit");
  assert.equal(book.recordLlm(llm("b")), "ok", "a channel already held keeps counting");
  assert.equal(book.limiters.channel.refused, 1);
  book.forget("a");
  assert.equal(book.recordLlm(llm("c")), "ok", "the freed slot is reused");
  assert.deepEqual(book.llmSeries().map((x) => x.channel).sort(), ["b", "c"]);
});

test("the series array stays the same while only values change, and is new once a series comes or goes", () => {
  const book = new UsageBook({ maxLabelValues: 100, maxChannels: 10 });
  const llm = (channel: string, model = "m") => ({ type: "llm_usage" as const, channel, model, feature: "f", tokensIn: 1, tokensOut: 1, latencyMs: null, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null });
  book.recordLlm(llm("a"));
  const first = book.llmSeries();
  book.recordLlm(llm("a"));
  assert.equal(book.llmSeries(), first, "a new value keeps the array");
  assert.equal(first[0]!.requests, 2);
  book.recordLlm(llm("a", "m2"));
  const second = book.llmSeries();
  assert.notEqual(second, first);
  assert.deepEqual(second.map((x) => x.model), ["m", "m2"]);
  book.forget("nobody");
  assert.equal(book.llmSeries(), second, "forgetting a channel without series changes nothing");
  book.forget("a");
  assert.deepEqual(book.llmSeries(), []);
});

test("the total of LLM and custom series is bounded, not only each label: past it new combinations go to their channel's overflow series, known ones keep counting, a goodbye frees room", () => {
  const book = new UsageBook({ maxLabelValues: 100, maxChannels: 100, maxLlmSeries: 4, maxCustomSeries: 2 });
  const llm = (channel: string, model: string) => ({ type: "llm_usage" as const, channel, model, feature: "f", tokensIn: 1, tokensOut: 1, latencyMs: null, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null });
  for (const [c, m] of [["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]]) assert.equal(book.recordLlm(llm(c!, m!)), "ok");
  assert.equal(book.recordLlm(llm("c", "x")), "overflow", "every label within its own bound, the product is not");
  assert.equal(book.recordLlm(llm("a", "x")), "ok", "a known series keeps counting");
  assert.equal(book.seriesRefused.llm, 1);
  assert.equal(book.limiters.model.refused, 0, "a combination past the total takes no label slot");
  assert.deepEqual(book.llmSeries().filter((x) => x.channel === "c").map((x) => [x.model, x.feature, x.requests]), [[OVERFLOW_LABEL, OVERFLOW_LABEL, 1]]);
  const custom = (channel: string, name: string) => ({ type: "custom_metric" as const, channel, metricName: name, value: 1 });
  assert.equal(book.recordCustom(custom("a", "q")), "ok");
  assert.equal(book.recordCustom(custom("b", "q")), "ok");
  assert.equal(book.recordCustom(custom("c", "q")), "series_limit");
  assert.equal(book.recordCustom(custom("a", "q")), "ok");
  book.forget("a");
  assert.equal(book.recordLlm(llm("c", "x")), "ok", "the channel's goodbye freed its series");
  assert.equal(book.recordCustom(custom("c", "q")), "ok");
});

test("a bound one bot filled never takes another bot's metrics: a new bot's calls count in its own overflow series, tokens and cost included (issue 25)", () => {
  const book = new UsageBook({ maxLabelValues: 100, maxChannels: 10, maxLlmSeries: 3000 });
  const llm = (channel: string, model: string, feature: string) => ({ type: "llm_usage" as const, channel, model, feature, tokensIn: 10, tokensOut: 5, latencyMs: 200, estimatedCostUsd: null, operation: null, costUsd: 0.5, costSource: "reported" as const });
  // Four noisy channels × 100 models × 100 features: the model and feature bounds and the total fill up.
  for (const c of ["n1", "n2", "n3", "n4"]) for (let m = 0; m < 100; m++) for (let f = 0; f < 100; f++) book.recordLlm(llm(c, `m${m}`, `f${f}`));
  for (let i = 0; i < 100; i++) assert.equal(book.recordLlm(llm("newcomer", "gpt-4o", "chat")), "overflow");
  const mine = book.llmSeries().filter((x) => x.channel === "newcomer");
  assert.deepEqual(mine.map((x) => [x.model, x.feature, x.requests, x.tokensIn, x.tokensOut, x.costReportedUsd, x.latencyCount]), [[OVERFLOW_LABEL, OVERFLOW_LABEL, 100, 1000, 500, 50, 100]]);
  const series = book.llmSeries().length;
  assert.ok(series <= 3000 + 5, `the total stays bounded: ${series} series for 5 channels`);
  assert.ok(book.seriesRefused.llm > 0, "what went to overflow is counted as refused detail");
  book.forget("newcomer");
  assert.equal(book.llmSeries().length, series - 1, "the overflow series goes with its channel");
});

test("model and feature names that are Object.prototype's own are ordinary labels", () => {
  const book = new UsageBook({ maxLabelValues: 100, maxChannels: 10 });
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
    assert.equal(book.recordLlm({ type: "llm_usage" as const, channel: "c", model: name, feature: name, tokensIn: 1, tokensOut: 1, latencyMs: null, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null }), "ok");
  }
  assert.deepEqual(book.llmSeries().map((x) => x.model), ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]);
});
