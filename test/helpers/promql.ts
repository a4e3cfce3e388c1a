import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.js";

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const id = m[0];
    const start = m.index!;
    const before = stripped[start - 1];
    if (before !== undefined && /[0-9.$]/.test(before)) continue; // 1e3, $variable
    if (/^\s*\(/.test(stripped.slice(start + id.length))) continue; // a function or an aggregation
    if (KEYWORDS.has(id.toLowerCase())) continue;
    names.push(id);
  }
  return names;
}

/** Names of the repo's recording rules. */
export function recordingRuleNames(): string[] {
  const text = readFileSync(join(REPO_ROOT, "prometheus", "rules", "kissbot-recording.yml"), "utf8");
  return [...text.matchAll(/^\s*- record: (\S+)/gm)].map((m) => m[1]!);
}

/** Every panel query of a dashboard JSON, with the panel's title. */
export function dashboardQueries(d: { panels: { title: string; type: string; targets?: { expr: string }[]; fieldConfig?: { defaults?: { unit?: string } } }[] }) {
  return d.panels.filter((p) => p.type !== "row").flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}
