import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FLAGS } from "../src/config/flags.js";
import { CATALOG } from "../src/metrics/catalog.js";

/** README sections generated from the code, so the documented contract cannot drift. */
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

/** Replaces each generated section of `text`; throws if a section's markers are missing. */
export function regenerate(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const begin = out.indexOf(marker(name, false));
    const end = out.indexOf(marker(name, true));
    if (begin === -1 || end === -1) throw new Error(`README has no generated section "${name}"`);
    out = `${out.slice(0, begin + marker(name, false).length)}\n${render()}\n${out.slice(end)}`;
  }
  return out;
}

export const README = join(fileURLToPath(import.meta.url), "..", "..", "..", "README.md");

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, regenerate(readFileSync(README, "utf8")));
}
