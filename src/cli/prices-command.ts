import { parseArgs } from "node:util";
import { FLAGS } from "../config/flags.js";
import { loadPriceTable, type DatedPrice, type ModelEntry } from "../pricing/price-table.js";
import { LIBRARY_NAME, LIBRARY_VERSION } from "../pricing/library-prices.js";
import { printable, renderTable, useColor } from "./table.js";
import type { Out } from "./common.js";

const since = (p: DatedPrice) => (p.fromMs === -Infinity ? "always" : new Date(p.fromMs).toISOString().replace("T00:00:00.000Z", "").replace(".000Z", "Z"));
const usd = (n: number) => n.toFixed(2);

function rows(entries: Iterable<ModelEntry>) {
  return [...entries].flatMap((e) => e.prices.map((p, i) => ({ model: i === 0 ? e.name : "", match: i === 0 ? (e.match ?? "-") : "", from: since(p), input: usd(p.inputUsdPerMillion), output: usd(p.outputUsdPerMillion) })));
}

/**
 * `kissbot-bridge prices [--prices FILE] [--match NAME] [--json]`: the price table in force (the
 * shipped one with --prices over it, as the bridge loads it), or the entry a model name finds.
 */
export async function pricesCommand(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { prices: { type: "string" }, match: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } }, strict: true });
  if (values.help) {
    out.stdout.write(`Usage: kissbot-bridge prices [--prices FILE] [--match MODEL] [--json]\n\nThe LLM price table in force (USD per 1M tokens), or what prices a model name (the price file, the shipped table, a local rule, or ${LIBRARY_NAME}) and its price now.\n`);
    return 0;
  }
  const file = values.prices ?? env[FLAGS.prices.env] ?? "";
  const table = loadPriceTable(file.trim() === "" ? null : file);
  if (values.match === undefined) {
    if (values.json) out.stdout.write(`${JSON.stringify([...table.all()].map((e) => ({ model: e.name, match: e.match ?? null, prices: e.prices.map((p) => ({ from: p.fromMs === -Infinity ? null : new Date(p.fromMs).toISOString(), input: p.inputUsdPerMillion, output: p.outputUsdPerMillion })) })), null, 2)}\n`);
    else out.stdout.write(`Prices in USD per 1M tokens (updated ${table.updated || "?"}${file ? `; ${file} over the shipped table` : ""}):\n${renderTable(rows(table.all()), [{ title: "MODEL", value: (r) => r.model }, { title: "MATCH", value: (r) => r.match }, { title: "FROM", value: (r) => r.from }, { title: "INPUT", value: (r) => r.input, right: true }, { title: "OUTPUT", value: (r) => r.output, right: true }], useColor(out.stdout))}Local models (free, never looked up): ${[...table.locals()].map((l) => l.text).join("  ") || "none"}\nAny other name: ${LIBRARY_NAME} ${LIBRARY_VERSION} (prices --match NAME says what prices a name).\n`);
    return 0;
  }
  const name = values.match;
  const found = table.resolve(name);
  const now = table.lookup(name);
  const where = (e: ModelEntry) => (e.source === "file" ? `the price file ${file}` : "the shipped table");
  const source = found === undefined ? null : found.kind === "library" ? { source: "library", library: LIBRARY_NAME, version: LIBRARY_VERSION } : found.kind === "local" ? { source: found.rule.source, file: found.rule.source === "file" ? file : null } : { source: found.entry.source, file: found.entry.source === "file" ? file : null };
  if (values.json) {
    const entry = found === undefined ? null : found.kind === "entry" ? found.entry.name : found.kind === "local" ? null : `${found.match.providerId}/${found.match.modelId}`;
    const how = found === undefined ? null : found.kind === "entry" ? found.how : found.kind;
    out.stdout.write(`${JSON.stringify({ model: name, entry, how, ...(found?.kind === "local" ? { local: found.rule.text } : {}), ...(source ?? {}), now: now === undefined ? null : { input: now.inputUsdPerMillion, output: now.outputUsdPerMillion } }, null, 2)}\n`);
    return found === undefined ? 1 : 0;
  }
  if (found === undefined) {
    out.stdout.write(`${printable(name)}: no entry in ${file ? `the price file ${file}, ` : ""}the shipped table or ${LIBRARY_NAME} ${LIBRARY_VERSION}; its calls are unpriced (counted in kissbot_llm_unpriced_requests_total) unless the bot reports a cost.\n`);
    return 1;
  }
  const price = now === undefined ? "no price in force now" : `now ${usd(now.inputUsdPerMillion)} input, ${usd(now.outputUsdPerMillion)} output per 1M tokens`;
  if (found.kind === "local") {
    out.stdout.write(`${printable(name)} → run locally, by the local rule ${found.rule.text} of ${found.rule.source === "file" ? `the price file ${file}` : "the shipped table"}: free (0.00 input, 0.00 output per 1M tokens); no cloud price is looked up for it\n`);
    return 0;
  }
  if (found.kind === "library") {
    const m = found.match;
    const varies = m.complex ? " (prices tiered by size or by time of day: each call is priced by the library with its own tokens and time)" : "";
    out.stdout.write(`${printable(name)} → ${m.providerId}/${m.modelId} of ${LIBRARY_NAME} ${LIBRARY_VERSION}: ${price}${varies}\n`);
    return 0;
  }
  const how = { exact: "its own name", pattern: `the pattern ${found.entry.match}`, prefix: "a prefix (a dated or tagged variant)" }[found.how];
  out.stdout.write(`${printable(name)} → ${found.entry.name} of ${where(found.entry)} (by ${how}): ${price}\n${renderTable(rows([found.entry]), [{ title: "FROM", value: (r) => r.from }, { title: "INPUT", value: (r) => r.input, right: true }, { title: "OUTPUT", value: (r) => r.output, right: true }], useColor(out.stdout))}`);
  return 0;
}
