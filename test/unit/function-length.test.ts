import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../helpers/paths.js";

/** No function of src/ is longer than this many lines: past it, a function is doing several jobs. */
const MAX_LINES = 100;

function longFunctions(file: string, text: string, max: number): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(node.end).line;
      if (last - first + 1 > max) found.push(`${file}:${first + 1} ${node.name?.getText() ?? "(anonymous)"}: ${last - first + 1} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test("the check finds a long function", () => {
  const long = `function f() {\n${"  x++;\n".repeat(120)}}\nconst g = () => 1;\n`;
  assert.deepEqual(longFunctions("a.ts", long, MAX_LINES), ["a.ts:1 f: 122 lines"]);
});

test(`no function in src/ is over ${MAX_LINES} lines`, () => {
  const src = join(REPO_ROOT, "src");
  const files = readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith(".ts"));
  assert.ok(files.length > 80);
  const found = files.flatMap((e) => {
    const path = join(e.parentPath, e.name);
    return longFunctions(relative(REPO_ROOT, path), readFileSync(path, "utf8"), MAX_LINES);
  });
  assert.deepEqual(found, []);
});
