import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { REPO_ROOT } from "../helpers/paths.js";

/**
 * The shape of src/ as a graph of imports (type-only imports, dynamic imports and worker URLs
 * included): data flows one way, so no two top-level folders import each other and no files form
 * a cycle; and the writer thread loads nothing of the read side.
 */
const SRC = join(REPO_ROOT, "src");
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)"(\.{1,2}\/[^"]+)"/g;

function graph(): Map<string, Set<string>> {
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(SRC, join(e.parentPath, e.name)));
  const edges = new Map<string, Set<string>>();
  for (const f of files) {
    const out = new Set<string>();
    for (const m of readFileSync(join(SRC, f), "utf8").matchAll(SPECIFIER)) out.add(normalize(join(dirname(f), m[1]!)).replace(/\.js$/, ".ts"));
    edges.set(f, out);
  }
  return edges;
}

const folder = (f: string) => (f.includes("/") ? f.slice(0, f.indexOf("/")) : ".");

/** Pairs of top-level folders that import each other, as "a <-> b". */
function folderCycles(edges: Map<string, Set<string>>): string[] {
  const pairs = new Set<string>();
  for (const [from, tos] of edges) for (const to of tos) if (folder(from) !== folder(to)) pairs.add(`${folder(from)} -> ${folder(to)}`);
  return [...pairs].filter((p) => pairs.has(p.split(" -> ").reverse().join(" -> ")));
}

/** Every cycle among files, each as the files along it. */
function fileCycles(edges: Map<string, Set<string>>): string[][] {
  const state = new Map<string, "open" | "done">();
  const cycles: string[][] = [];
  const visit = (f: string, path: string[]) => {
    state.set(f, "open");
    path.push(f);
    for (const to of edges.get(f) ?? []) {
      if (state.get(to) === "open") cycles.push([...path.slice(path.indexOf(to)), to]);
      else if (!state.has(to)) visit(to, path);
    }
    path.pop();
    state.set(f, "done");
  };
  for (const f of edges.keys()) if (!state.has(f)) visit(f, []);
  return cycles;
}

test("the checks see a cycle when there is one", () => {
  const edges = new Map([
    ["a/x.ts", new Set(["b/y.ts"])],
    ["b/y.ts", new Set(["b/z.ts"])],
    ["b/z.ts", new Set(["a/w.ts", "b/y.ts"])],
    ["a/w.ts", new Set<string>()],
  ]);
  assert.deepEqual(folderCycles(edges).sort(), ["a -> b", "b -> a"]);
  assert.deepEqual(fileCycles(edges), [["b/y.ts", "b/z.ts", "b/y.ts"]]);
});

test("no two folders of src/ import each other, and no files form a cycle", () => {
  const edges = graph();
  assert.ok(edges.size > 80, `${edges.size} files read`);
  assert.deepEqual(folderCycles(edges), []);
  assert.deepEqual(fileCycles(edges), []);
});

test("the writer thread loads no read-side code (store/read, spend's queries)", () => {
  const edges = graph();
  const loaded = new Set<string>();
  const walk = (f: string) => {
    if (loaded.has(f)) return;
    loaded.add(f);
    for (const to of edges.get(f) ?? []) walk(to);
  };
  walk("store/write/writer-worker.ts");
  assert.ok(loaded.size > 5);
  assert.deepEqual([...loaded].filter((f) => f.startsWith("store/read/") || f === "spend/spend-queries.ts"), []);
});
