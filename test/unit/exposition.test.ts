import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Registry } from "prom-client";
import { Exposition } from "../../src/metrics/exposition.js";
import { Family } from "../../src/metrics/family.js";
import { CounterMap } from "../../src/util/counter-map.js";
import { Samples } from "../helpers/samples.js";
import { expositionOver } from "../helpers/exposition.js";

test("one failing collector never fails the scrape: the rest is served and the failure counted", async () => {
  const prom = new Registry();
  new Gauge({ name: "broken_gauge", help: "h", registers: [prom], collect() { throw new Error("PID read failed"); } });
  new Counter({ name: "fine_total", help: "h", registers: [prom] }).inc(3);
  const errors = new CounterMap();
  const families = [
    new Family({ name: "kissbot_first", type: "gauge", labels: [], help: "h" }, (out) => out.sample("", 1)),
    new Family({ name: "kissbot_broken", type: "gauge", labels: [], help: "h" }, (out) => {
      out.sample("", 1);
      throw new Error("boom");
    }),
    new Family({ name: "kissbot_last", type: "gauge", labels: [], help: "h" }, (out) => out.sample("", 2)),
  ];
  const exposition = new Exposition(families, prom, errors);
  for (const format of ["prometheus", "openmetrics"] as const) {
    const { body } = await exposition.render(format);
    const s = new Samples(body.toString());
    assert.equal(s.get("kissbot_first"), 1);
    assert.equal(s.get("kissbot_last"), 2);
    assert.equal(s.get("fine_total"), 3);
    assert.doesNotMatch(body.toString(), /kissbot_broken/, "a failed family leaves no partial output");
  }
  assert.equal(errors.get("kissbot_broken"), 2);
  assert.equal(errors.get("broken_gauge"), 2);
});

test("unchanged usage series are served from the render cache, and a change or a removal shows at once", async () => {
  const { UsageBook } = await import("../../src/usage/usage-book.js");
  const { ManualClock } = await import("../../src/util/clock.js");
  const book = new UsageBook({ maxLabelValues: 10, maxChannels: 10 });
  const msg = (channel: string, tokensIn: number) => ({ type: "llm_usage" as const, channel, model: "m", feature: "f", tokensIn, tokensOut: 1, latencyMs: 250, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null });
  book.recordLlm(msg("a", 10));
  book.recordLlm(msg("b", 20));
  const exposition = expositionOver({ clock: new ManualClock(), bots: { all: () => [] }, usage: book });
  // One turn of the loop between scrapes, as between two HTTP requests: a render is shared by
  // the scrapes that arrive while it runs, not by the next one.
  const scrape = async () => {
    await new Promise((r) => setImmediate(r));
    return (await exposition.render("prometheus")).body.toString();
  };
  const first = await scrape();
  assert.equal(await scrape(), first); // bytes kept now
  assert.equal(await scrape(), first); // served from the cache
  book.recordLlm(msg("a", 5));
  const s = new Samples(await scrape());
  assert.equal(s.get("kissbot_llm_tokens_total", { channel: "a", model: "m", feature: "f", token_type: "input" }), 15);
  assert.equal(s.get("kissbot_llm_latency_seconds_count", { channel: "a", model: "m", feature: "f" }), 2);
  assert.equal(s.get("kissbot_llm_tokens_total", { channel: "b", model: "m", feature: "f", token_type: "input" }), 20);
  await scrape(); // every series' bytes kept again
  // A new series lands between a's and b's in the book's order: the kept lines must follow their own series.
  book.recordLlm({ ...msg("a", 7), model: "m2" });
  const shifted = new Samples(await scrape());
  assert.equal(shifted.get("kissbot_llm_tokens_total", { channel: "a", model: "m2", feature: "f", token_type: "input" }), 7);
  assert.equal(shifted.get("kissbot_llm_tokens_total", { channel: "a", model: "m", feature: "f", token_type: "input" }), 15);
  assert.equal(shifted.get("kissbot_llm_tokens_total", { channel: "b", model: "m", feature: "f", token_type: "input" }), 20);
  book.forget("b");
  assert.equal(new Samples(await scrape()).get("kissbot_llm_requests_total", { channel: "b", model: "m", feature: "f" }), undefined);
});

test("a render writes into a released body's memory, never into one still held", async () => {
  let value = 1;
  const families = [new Family({ name: "kissbot_value", type: "gauge", labels: [], help: "h" }, (out) => out.sample("", value))];
  const exposition = new Exposition(families, new Registry(), new CounterMap());
  // One turn of the loop between renders, as between two HTTP requests (see Exposition.render).
  const render = async () => {
    await new Promise((r) => setImmediate(r));
    return exposition.render("prometheus");
  };
  const held = await render();
  value = 2;
  const second = await render();
  assert.equal(new Samples(held.body.toString()).get("kissbot_value"), 1, "an unreleased body keeps its bytes");
  assert.notEqual(second.body.buffer, held.body.buffer);
  second.release();
  second.release(); // twice is harmless: the memory is kept once
  value = 3;
  const third = await render();
  const fourth = await render();
  assert.equal(third.body.buffer, second.body.buffer, "the released memory is reused");
  assert.notEqual(fourth.body.buffer, third.body.buffer, "and handed out once");
  assert.equal(new Samples(third.body.toString()).get("kissbot_value"), 3);
  assert.equal(new Samples(held.body.toString()).get("kissbot_value"), 1);
});

test("a scrape that joins a render after another scrape of it was sent keeps its bytes: the memory is reused only once nobody can join", async () => {
  let value = 1;
  const families = [new Family({ name: "kissbot_value", type: "gauge", labels: [], help: "h" }, (out) => out.sample("", value))];
  const exposition = new Exposition(families, new Registry(), new CounterMap());
  const first = await exposition.render("prometheus");
  // Its response is sent before the render stops taking joiners (one turn of the loop later).
  first.release();
  const joined = await exposition.render("prometheus");
  assert.equal(exposition.shared, 1, "the second scrape joined the first render");
  value = 2;
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const next = await exposition.render("prometheus");
  assert.equal(exposition.rendered, 2);
  assert.equal(new Samples(next.body.toString()).get("kissbot_value"), 2);
  assert.equal(new Samples(joined.body.toString()).get("kissbot_value"), 1, "the joined body, still being sent, is not overwritten");
  joined.release();
  value = 3;
  await new Promise((r) => setImmediate(r));
  const reused = await exposition.render("prometheus");
  assert.equal(reused.body.buffer, joined.body.buffer, "released by everyone and closed: its memory is reused");
  assert.equal(new Samples(reused.body.toString()).get("kissbot_value"), 3);
});

test("samples and histograms render the same lines from label strings and from encoded labels", async () => {
  const { encodeLabels } = await import("../../src/metrics/format.js");
  const bounds = [0.5, 1];
  const families = [
    new Family({ name: "kissbot_g", type: "gauge", labels: [], help: "h" }, (out) => {
      out.sample("", 1.5);
      out.sample('a="x"', 2);
      out.sample(encodeLabels({ a: "ü\"" }), 3, encodeLabels({ token_type: "input" }));
      out.sample("", -0.25, encodeLabels({ token_type: "output" }));
    }),
    new Family({ name: "kissbot_h_seconds", type: "histogram", labels: [], help: "h" }, (out) => {
      out.histogram("", bounds, [1, 0, 2], 3.5, 3);
      out.histogram(encodeLabels({ a: "y" }), bounds, [0, 1, 0], 0.75, 1);
    }),
  ];
  const { body } = await new Exposition(families, new Registry(), new CounterMap()).render("prometheus");
  assert.equal(
    body.toString().split("\n").filter((l) => l.startsWith("kissbot_")).join("\n"),
    [
      "kissbot_g 1.5",
      'kissbot_g{a="x"} 2',
      'kissbot_g{a="ü\\"",token_type="input"} 3',
      'kissbot_g{token_type="output"} -0.25',
      'kissbot_h_seconds_bucket{le="0.5"} 1',
      'kissbot_h_seconds_bucket{le="1"} 1',
      'kissbot_h_seconds_bucket{le="+Inf"} 3',
      "kissbot_h_seconds_sum 3.5",
      "kissbot_h_seconds_count 3",
      'kissbot_h_seconds_bucket{a="y",le="0.5"} 0',
      'kissbot_h_seconds_bucket{a="y",le="1"} 1',
      'kissbot_h_seconds_bucket{a="y",le="+Inf"} 1',
      'kissbot_h_seconds_sum{a="y"} 0.75',
      'kissbot_h_seconds_count{a="y"} 1',
    ].join("\n"),
  );
});

test("scrapes that arrive while a render runs share it; the next one renders afresh", async () => {
  let value = 1;
  const families = [new Family({ name: "kissbot_value", type: "gauge", labels: [], help: "h" }, (out) => out.sample("", value))];
  const exposition = new Exposition(families, new Registry(), new CounterMap());
  const together = await Promise.all([1, 2, 3].map(() => exposition.render("prometheus")));
  assert.deepEqual([exposition.rendered, exposition.shared], [1, 2]);
  assert.ok(together.every((r) => r.body.buffer === together[0]!.body.buffer), "one body for all three");
  for (const r of together) r.release();
  value = 2;
  await new Promise((r) => setImmediate(r));
  const later = await exposition.render("prometheus");
  assert.equal(new Samples(later.body.toString()).get("kissbot_value"), 2);
  assert.equal(exposition.rendered, 2);
});

test("gzip: scrapes that share a render share one compression of it, which decompresses to the plain body; a plain scrape beside them is not compressed", async () => {
  const { gunzipSync } = await import("node:zlib");
  const families = [new Family({ name: "kissbot_value", type: "gauge", labels: ["n"], help: "h" }, (out) => {
    for (let i = 0; i < 2000; i++) out.sample(`{n="${i}"}`, i);
  })];
  const exposition = new Exposition(families, new Registry(), new CounterMap());
  const [a, b, plain] = await Promise.all([exposition.render("prometheus", true), exposition.render("prometheus", true), exposition.render("prometheus", false)]);
  assert.equal(a!.encoding, "gzip");
  assert.equal(a!.body, b!.body, "compressed once: the same buffer for both");
  assert.equal(plain!.encoding, undefined);
  assert.deepEqual(gunzipSync(a!.body), plain!.body);
  assert.ok(a!.body.length * 4 < plain!.body.length, `compressed ${a!.body.length} of ${plain!.body.length} bytes`);
  for (const r of [a, b, plain]) r!.release();
});
