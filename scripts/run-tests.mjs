#!/usr/bin/env node
// Runs the compiled tests under node:test: independent files in parallel, then the files that
// measure time or load one at a time, on a quiet machine. A file runs alone when its source
// begins with a line `// Runs alone: <why>`. One reporter sees both phases, so the counts and the
// ten slowest files at the end cover the whole run.
//
//   node scripts/run-tests.mjs [DIR_OR_FILE...]    (default: dist/test)
//   KISSBOT_TEST_CONCURRENCY=N                     files at once in the parallel phase
import { run } from "node:test";
import { availableParallelism } from "node:os";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import progress from "./progress-reporter.mjs";

const ALONE = /^\/\/ Runs alone: /m;

function testFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith(".test.js") ? [join(path, e.name)] : []))
    .sort();
}

/** The TypeScript file a compiled test came from (dist/test/x.test.js → test/x.test.ts). */
function source(file) {
  const ts = relative("dist", file).replace(/\.js$/, ".ts");
  return existsSync(ts) ? ts : file;
}

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ["dist/test"]).flatMap(testFiles);
const alone = files.filter((f) => ALONE.test(readFileSync(source(f), "utf8").split("\n").slice(0, 5).join("\n")));
const together = files.filter((f) => !alone.includes(f));
// Most files wait on child processes (bridges, Python bots, Prometheus), not on the CPU: twice the
// cores keeps both busy without starving the waits.
const concurrency = Number(process.env["KISSBOT_TEST_CONCURRENCY"] ?? 2 * availableParallelism());
const timeout = 600_000;

async function* phases() {
  if (together.length > 0) yield* run({ files: together, concurrency, timeout });
  if (alone.length > 0) yield* run({ files: alone, concurrency: 1, timeout });
}

let failed = false;
const started = Date.now();
for await (const chunk of progress(watch(phases()))) process.stdout.write(chunk);
process.stdout.write(`${files.length} files (${alone.length} alone) in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
process.exitCode = failed ? 1 : 0;

async function* watch(events) {
  for await (const e of events) {
    if (e.type === "test:fail" && e.data?.details?.type !== "suite") failed = true;
    yield e;
  }
}
