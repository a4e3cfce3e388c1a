import { test } from "node:test";
import assert from "node:assert/strict";
import { CounterHistory } from "../../src/status/counter-history.js";
import { ManualClock } from "../../src/util/clock.js";

const PROTO_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"];

test("rates, increases and per-minute series keyed by Object.prototype's own names are ordinary keys (a model named constructor ended the bridge, issue 25)", () => {
  const clock = new ManualClock(1_000_000);
  const counts = new Map<string, number>(PROTO_NAMES.map((n) => [n, 0]));
  counts.set("gpt-4o", 0);
  const history = new CounterHistory(clock, () => counts.entries());
  history.take();
  for (let minute = 1; minute <= 3; minute++) {
    for (const k of counts.keys()) counts.set(k, counts.get(k)! + 60 * minute);
    clock.advance(60_000);
    history.take();
  }
  const per = history.perMinute(3_600_000);
  assert.deepEqual(per.t.length, 3);
  for (const k of [...PROTO_NAMES, "gpt-4o"]) {
    assert.deepEqual(per.series[k], [60, 120, 180], k);
    assert.equal(history.increase(3_600_000)[k], 360, k);
    assert.equal(history.rate(180_000)[k], 2, k);
  }
  // Serialised as it is: every key survives JSON, __proto__ included.
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(per.series)) as object).sort(), [...PROTO_NAMES, "gpt-4o"].sort());
});
