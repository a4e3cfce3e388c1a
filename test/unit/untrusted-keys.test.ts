import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT as ROOT } from "../helpers/paths.js";

/**
 * Names that bots, files and requests choose (channels, models, features, query values) must
 * never index a plain `{}`: there `constructor` or `__proto__` read Object.prototype's members,
 * and the bridge once exited from a timer because of it (issue 25). Use a Map, or dict()
 * (src/util/dict.ts) for JSON that is sent as it is. This scan fails the build on the shapes
 * that led there; a lookup table is a Map too, so nothing needs an exception.
 */
const RULES: { name: string; pattern: RegExp }[] = [
  { name: "a string-keyed Record initialised with an object literal", pattern: /:\s*(?:Readonly<|Partial<)*Record<string,[^=;]*>+\s*=\s*\{/ },
  { name: "an index-signature object initialised with an object literal", pattern: /:\s*\{\s*\[\w+:\s*string\]:[^=;]*\}\s*=\s*\{/ },
  { name: "`??=` on a computed member", pattern: /\]\s*\?\?=/ },
  { name: "an empty object literal kept in a variable (the page's script)", pattern: /\b(?:const|let|var)\s+\w+\s*=\s*\{\s*\}/ },
];

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && ext.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function violations(text: string): { line: number; rule: string; code: string }[] {
  const out: { line: number; rule: string; code: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const code = raw.replace(/\/\/.*$/, "").trim();
    if (code.startsWith("*") || code.startsWith("/*")) return;
    for (const r of RULES) if (r.pattern.test(code)) out.push({ line: i + 1, rule: r.name, code });
  });
  return out;
}

test("the scan recognises each shape that indexes a plain object, and passes the safe ones", () => {
  const bad = [
    "const out: Record<string, number> = {};",
    "const RANGES: Record<string, number> = { \"1h\": 3_600_000 };",
    "private inflight: Partial<Record<string, Promise<void>>> = {};",
    "const s = (series[k] ??= []);",
    "const seen: { [name: string]: number } = {};",
    "let byModel = {};",
  ];
  const good = [
    "const out = dict<number>();",
    "const RANGES = new Map([[\"1h\", 3_600_000]]);",
    "function f(fields: Record<string, unknown>, msg: string): void {",
    "private inflight: Partial<Record<ExpositionFormat, Promise<void>>> = {};",
    "this.timer ??= every(\"live_feed\", 1000, tick);",
    "function el(tag, props = {}, ...children) {",
  ];
  for (const line of bad) assert.equal(violations(line).length, 1, `should be flagged: ${line}`);
  for (const line of good) assert.deepEqual(violations(line), [], `should pass: ${line}`);
});

test("no module of the bridge or its page indexes a plain object by a string (Map or dict() instead)", () => {
  const sources = [...files(join(ROOT, "src"), /\.ts$/), ...files(join(ROOT, "web"), /\.js$/)];
  assert.ok(sources.length > 50, `scanned ${sources.length} files`);
  const found = sources.flatMap((f) => violations(readFileSync(f, "utf8")).map((v) => `${f.slice(ROOT.length + 1)}:${v.line}: ${v.rule}: ${v.code}`));
  assert.deepEqual(found, []);
});
