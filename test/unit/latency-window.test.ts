import { test } from "node:test";
import assert from "node:assert/strict";
import { LatencyWindow } from "../../src/spend/latency-window.js";
import { MAX_LATENCY_CELLS } from "../../src/spend/spend-queries.js";
import type { LatencyCell } from "../../src/spend/spend-cells.js";

const NOW = Date.parse("2026-11-26T15:00:30Z");

test("the latency buckets held are bounded: past the bound new buckets are left out and counted, and buckets of minutes gone make room again", () => {
  const w = new LatencyWindow();
  // One call per bucket, spread over two minutes: the older one leaves the hour first.
  const cells: LatencyCell[] = [];
  for (let i = 0; i < MAX_LATENCY_CELLS + 5; i++) cells.push([i % 2 ? "2026-11-26T14:01" : "2026-11-26T14:30", "m", i, 1, Math.exp(i / 100) - 1]);
  w.add(cells);
  assert.equal(w.refused, 5);
  assert.equal(w.views(NOW)[0]!.calls, MAX_LATENCY_CELLS);
  // A bucket already held still counts calls.
  w.add([["2026-11-26T14:30", "m", 0, 3, 0]]);
  assert.equal(w.refused, 5);
  assert.equal(w.views(NOW)[0]!.calls, MAX_LATENCY_CELLS + 3);

  // At 15:02:00 the 14:01 minute is out of the hour: its buckets go, and new ones fit again.
  const later = Date.parse("2026-11-26T15:02:00Z");
  const left = w.views(later)[0]!.calls;
  assert.equal(left, MAX_LATENCY_CELLS / 2 + 3);
  w.add([["2026-11-26T15:01", "m", -1, 1, 0]]);
  assert.equal(w.refused, 5);
  assert.equal(w.views(later)[0]!.calls, left + 1);
});

test("calls without a latency count as calls but not in the percentiles; a model whose minutes all passed goes", () => {
  const w = new LatencyWindow();
  w.add(
    [
      ["2026-11-26T14:10", "a", null, 4, null],
      ["2026-11-26T14:50", "b", 500, 2, 2 * 147.4],
      ["2026-11-26T14:50", "b", null, 1, null],
    ],
  );
  assert.deepEqual(w.views(NOW), [
    { key: "a", calls: 4, p50_latency_ms: null, p95_latency_ms: null },
    { key: "b", calls: 3, p50_latency_ms: 147.4, p95_latency_ms: 147.4 },
  ]);
  assert.deepEqual(w.views(Date.parse("2026-11-26T15:11:00Z")).map((v) => v.key), ["b"]);
});
