import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FLAGS } from "../src/config/flags.js";
import { CATALOG } from "../src/metrics/catalog.js";

/** Sections of docs/ generated from the code, so the documented contract cannot drift. */
export const SECTIONS: Record<string, () => string> = {
  flags: () =>
    [
      "| Flag | Environment variable | Default | Meaning |",
      "| --- | --- | --- | --- |",
      ...Object.values(FLAGS).map((f) => `| \`--${f.name}${f.metavar === "" ? "" : ` ${f.metavar}`}\` | \`${f.env}\` | \`${f.default}\` | ${f.help} |`),
    ].join("\n"),
  metrics: () =>
    [
      "| Metric | Type | Labels | Meaning |",
      "| --- | --- | --- | --- |",
      ...Object.values(CATALOG).map((m) => `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(", ") || "–"} | ${m.help} |`),
    ].join("\n"),
};

const marker = (name: string, end: boolean) => `<!-- ${end ? "END" : "BEGIN"} GENERATED ${name} (npm run docs) -->`;

const ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..");

/** Which file holds each generated section. */
export const GENERATED_FILES: Record<string, string> = {
  flags: join(ROOT, "docs", "configuration.md"),
  metrics: join(ROOT, "docs", "metrics.md"),
};

/** Replaces the generated sections `text` holds; throws if one begins without its end. */
export function regenerate(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const begin = out.indexOf(marker(name, false));
    if (begin === -1) continue;
    const end = out.indexOf(marker(name, true));
    if (end === -1) throw new Error(`the generated section "${name}" has no end marker`);
    out = `${out.slice(0, begin + marker(name, false).length)}\n${render()}\n${out.slice(end)}`;
  }
  return out;
}

/** The docs' pictures of the status page, as the browser test last drew them (test-output/status-page/). */
export const SCREENSHOTS: Record<string, string> = {
  "readme.png": join(ROOT, "docs", "images", "status-page.png"),
  "overview.png": join(ROOT, "docs", "images", "status-overview.png"),
  "bot.png": join(ROOT, "docs", "images", "status-bot.png"),
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const path of new Set(Object.values(GENERATED_FILES))) writeFileSync(path, regenerate(readFileSync(path, "utf8")));
  for (const [drawn, shown] of Object.entries(SCREENSHOTS)) {
    const from = join(ROOT, "test-output", "status-page", drawn);
    if (existsSync(from)) copyFileSync(from, shown);
    else console.log(`${drawn}: not drawn yet (npm test draws it); ${shown} kept`);
  }
}
