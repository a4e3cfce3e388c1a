import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/paths.js";
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

test("the README lists every OpenTelemetry instrument the code creates", () => {
  const text = readFileSync(README, "utf8");
  const dir = join(REPO_ROOT, "src", "otel");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const code = readFileSync(join(dir, file), "utf8");
    for (const m of code.matchAll(/(?:create\w+|gauge|sum)\(\s*"((?:gen_ai|process|kissbot)\.[a-z_.]+)"/g)) names.add(m[1]!);
  }
  assert.ok(names.size >= 8, `found ${[...names].join(", ")}`);
  for (const n of names) assert.ok(text.includes(`| \`${n}\` |`), `${n} is in the README's instrument table`);
});
