import { readFileSync } from "node:fs";
import { marked } from "marked";

/** docs/runbook.md, shipped in the package beside dist/. */
export const RUNBOOK = new URL("../../../docs/runbook.md", import.meta.url);

const anchor = (text: string) => text.toLowerCase().replace(/<[^>]+>/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/**
 * The runbook as one HTML page, each heading with the id GitHub would give it, so an alert's
 * runbook_url (`…/runbook#kissbotstale`) opens at its section. Rendered once, from the
 * project's own file (never from bot input).
 */
export function runbookPage(): string {
  const html = marked.parse(readFileSync(RUNBOOK, "utf8"), { async: false });
  const body = html.replace(/<h([1-3])>(.*?)<\/h\1>/g, (_m, level: string, text: string) => `<h${level} id="${anchor(text)}">${text}</h${level}>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>kissbot-bridge runbook</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}code{background:#8882;padding:0 .2em}pre{overflow:auto}:target{background:#ff03}</style>
</head><body>
${body}</body></html>
`;
}
