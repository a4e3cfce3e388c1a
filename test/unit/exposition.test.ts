import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Registry } from "prom-client";
import { Exposition } from "../../src/metrics/exposition.js";
import { Family } from "../../src/metrics/family.js";
import { CounterMap } from "../../src/util/counter-map.js";
import { Samples } from "../helpers/samples.js";

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
