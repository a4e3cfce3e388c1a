import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { README, regenerate } from "../../scripts/docs.js";

test("the README's flag table and metric catalog match the code (run `npm run docs` to refresh)", () => {
  const text = readFileSync(README, "utf8");
  assert.equal(text, regenerate(text));
});

test("the README leads with the install-and-run command and the test command", () => {
  const text = readFileSync(README, "utf8");
  const firstBlock = /```[a-z]*\n([\s\S]*?)```/.exec(text)?.[1] ?? "";
  assert.match(firstBlock, /^npm install && npm start/m);
  assert.match(firstBlock, /npm test/);
});
