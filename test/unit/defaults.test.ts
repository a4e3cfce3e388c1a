import { test } from "node:test";
import assert from "node:assert/strict";
import { withDefaults } from "../../src/util/defaults.js";

test("options with defaults: a value given wins, one left out or undefined takes the default, zero and false are values", () => {
  type O = { path: string; keep?: number; maxBytes?: number; refuse?: boolean; limit?: number };
  const o = withDefaults<O, "keep" | "maxBytes" | "refuse" | "limit">({ path: "/x", keep: 0, maxBytes: undefined, refuse: false }, { keep: 3, maxBytes: 1024, refuse: true, limit: Infinity });
  assert.deepEqual(o, { path: "/x", keep: 0, maxBytes: 1024, refuse: false, limit: Infinity });
});
