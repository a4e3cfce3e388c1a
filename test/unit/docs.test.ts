import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { REPO_ROOT } from "../helpers/paths.js";
import { spawnSync } from "node:child_process";
import { GENERATED_FILES, regenerate, SCREENSHOTS } from "../../scripts/docs.js";

const README = join(REPO_ROOT, "README.md");
const DOCS = join(REPO_ROOT, "docs");
const read = (path: string) => readFileSync(path, "utf8");

/** Every Markdown file a reader of the repository meets: the README, CONTRIBUTING, CHANGELOG, docs/. */
const markdownFiles = (): string[] => [README, join(REPO_ROOT, "CONTRIBUTING.md"), join(REPO_ROOT, "CHANGELOG.md"), ...readdirSync(DOCS).filter((f) => f.endsWith(".md")).map((f) => join(DOCS, f))];

/** GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped, spaces to hyphens, repeats numbered). */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading !== null) {
      const base = heading[1]!.trim().toLowerCase().replace(/<[^>]*>/g, "").replace(/[^\p{L}\p{N}\- _]/gu, "").replace(/ /g, "-");
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a (?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  }
  return out;
}

/** The relative links of a Markdown file, outside code: [text](target) and ![alt](image). */
function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z][a-z+.-]*:/i.test(t));
}

test("the generated references (flags, metrics) match the code: run `npm run docs` to refresh them", () => {
  for (const [section, path] of Object.entries(GENERATED_FILES)) {
    const text = read(path);
    assert.ok(text.includes(`<!-- BEGIN GENERATED ${section} (npm run docs) -->`), `${relative(REPO_ROOT, path)} holds the generated ${section}`);
    assert.equal(text, regenerate(text), `${relative(REPO_ROOT, path)} is stale: run npm run docs`);
  }
});

test("every relative link and anchor in the README, CONTRIBUTING, CHANGELOG and docs/ leads somewhere", () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    for (const link of linksOf(read(file))) {
      checked++;
      const [path, anchor] = link.split("#") as [string, string | undefined];
      const target = path === "" ? file : join(dirname(file), decodeURIComponent(path));
      const where = `${relative(REPO_ROOT, file)} → ${link}`;
      if (!existsSync(target)) broken.push(`${where}: no such file`);
      else if (anchor !== undefined && anchor !== "") {
        if (!target.endsWith(".md") || statSync(target).isDirectory()) broken.push(`${where}: an anchor into a file that is not Markdown`);
        else if (!anchorsOf(read(target)).has(anchor)) broken.push(`${where}: no heading with that anchor`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked > 30, `only ${checked} links checked`);
});

test("the anchor rules are GitHub's", () => {
  const a = anchorsOf("# Many hosts, safely\n## `--notify` and KISSBOT_NOTIFY\n## Étapes\n```\n# not a heading\n```\n## Flags\n## Flags\n");
  assert.deepEqual([...a], ["many-hosts-safely", "--notify-and-kissbot_notify", "étapes", "flags", "flags-1"]);
});

test("the README fits its job: at most 250 lines, the two commands first, a screenshot, and every page of docs/ one click away", () => {
  const text = read(README);
  assert.ok(text.split("\n").length <= 250, `README.md has ${text.split("\n").length} lines`);
  const firstBlock = /```[a-z]*\n([\s\S]*?)```/.exec(text)?.[1] ?? "";
  assert.match(firstBlock, /^npm install && npm start/m);
  assert.match(firstBlock, /npm test/);
  assert.match(text, /!\[[^\]]+\]\(docs\/images\/status-page\.png\)/);
  const linked = new Set(linksOf(text).map((l) => l.split("#")[0]));
  for (const page of readdirSync(DOCS).filter((f) => f.endsWith(".md"))) assert.ok(linked.has(`docs/${page}`), `the README links docs/${page}`);
  assert.ok(linked.has("CONTRIBUTING.md"));
});

test("the OpenTelemetry page lists every instrument the code creates", () => {
  const text = read(join(DOCS, "opentelemetry.md"));
  const dir = join(REPO_ROOT, "src", "otel");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const code = read(join(dir, file));
    for (const m of code.matchAll(/(?:create\w+|gauge|sum)\(\s*"((?:gen_ai|process|kissbot)\.[a-z_.]+)"/g)) names.add(m[1]!);
  }
  assert.ok(names.size >= 8, `found ${[...names].join(", ")}`);
  for (const n of names) assert.ok(text.includes(`| \`${n}\` |`), `${n} is in docs/opentelemetry.md's instrument table`);
});

test("the docs' screenshots are current: none was committed before the last change to the status page (web/); `npm test` then `npm run docs` redraws them", () => {
  const lastChange = (path: string) => {
    const r = spawnSync("git", ["log", "-1", "--format=%ct", "--", path], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, `git log: ${r.stderr} (this test reads the repository's history)`);
    return Number(r.stdout.trim() || Infinity);
  };
  const web = lastChange("web");
  for (const shown of Object.values(SCREENSHOTS)) {
    assert.ok(existsSync(shown), relative(REPO_ROOT, shown));
    assert.ok(lastChange(shown) >= web, `${relative(REPO_ROOT, shown)} predates the last commit to web/: redraw it`);
  }
});
