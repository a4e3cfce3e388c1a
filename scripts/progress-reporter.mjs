// A test reporter that names each test as it starts and as it ends, with its time, so a long
// run (the alerting end-to-end tests take a minute each) never sits silent. Failures are printed
// whole, where they happen, and counted at the end, after the ten slowest files (what a faster
// suite would work on first). Used by `npm test` and `npm run test:quick`.
import { relative } from "node:path";
import { inspect } from "node:util";

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const where = (file) => (file ? relative(process.cwd(), file) : "");

export default async function* progress(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  /** Each test file's time: the sum of its top-level tests. */
  const files = new Map();
  for await (const { type, data } of source) {
    // Files are tests too (nesting 0 with a file name equal to the test name): name their own tests only.
    const top = data?.nesting === 0 && data?.file !== undefined && data.name === data.file;
    // Node 20 reports no time for a file that passes: its top-level tests' times are summed.
    if (!top && data?.nesting === 0 && data?.file !== undefined && (type === "test:pass" || type === "test:fail")) files.set(where(data.file), (files.get(where(data.file)) ?? 0) + (data.details?.duration_ms ?? 0));
    if (type === "test:start" && !top) {
      yield `${"  ".repeat(data.nesting)}▶ ${data.name}  (${where(data.file)})\n`;
    } else if (type === "test:pass" && !top) {
      const skip = data.skip !== undefined || data.todo !== undefined;
      if (data.details?.type !== "suite") skip ? skipped++ : passed++;
      yield `${"  ".repeat(data.nesting)}${skip ? "↷ skipped" : "✔"} ${data.name}  ${seconds(data.details?.duration_ms ?? 0)}${skip ? `: ${data.skip ?? data.todo}` : ""}\n`;
    } else if (type === "test:fail") {
      if (data.details?.type !== "suite") failed++;
      const err = data.details?.error;
      const text = `${"  ".repeat(data.nesting)}✖ ${data.name}  ${seconds(data.details?.duration_ms ?? 0)}  (${where(data.file)})\n${inspect(err?.cause ?? err, { depth: 4 }).replace(/^/gm, "    ")}\n`;
      failures.push(text);
      yield text;
    } else if (type === "test:diagnostic" && data.nesting > 0) {
      yield `${"  ".repeat(data.nesting)}ℹ ${data.message}\n`;
    } else if (type === "test:stderr" || type === "test:stdout") {
      yield data.message;
    }
  }
  const slowest = [...files].sort((a, b) => b[1] - a[1]).slice(0, 10);
  if (slowest.length > 1) yield `\nThe ten slowest files:\n${slowest.map(([file, ms]) => `  ${seconds(ms).padStart(8)}  ${file}\n`).join("")}`;
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
  if (failures.length > 0) yield `\nFailures:\n${failures.join("")}`;
}
