import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { runbookPage } from "../../src/http/runbook.js";
import { REPO_ROOT } from "../helpers/paths.js";

test("every alert's runbook_url opens a section of the runbook the bridge serves", () => {
  const rules = parse(readFileSync(join(REPO_ROOT, "prometheus", "rules", "kissbot-alerts.yml"), "utf8")) as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
  const ids = new Set([...runbookPage().matchAll(/<h[1-3] id="([^"]+)">/g)].map((m) => m[1]));
  const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
  assert.ok(alerts.length >= 12, `${alerts.length} alerts`);
  for (const a of alerts) {
    const url = a.annotations?.["runbook_url"] ?? "";
    const anchor = url.split("#")[1] ?? "";
    assert.equal(anchor, a.alert!.toLowerCase(), `${a.alert}: ${url}`);
    assert.ok(ids.has(anchor), `${a.alert}: docs/runbook.md has no section #${anchor}`);
  }
});
