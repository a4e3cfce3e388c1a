import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, type Document, type Node } from "yaml";

/** Where a node of a file is, for error messages: "path line N" (the path alone when unknown). */
export type At = (node: Node | null | undefined) => string;

/**
 * Reads and parses a YAML file the bridge is given (--budgets, --web.config.file). Throws an
 * Error naming the file when it cannot be read, and the line of the first syntax error.
 */
export function readYamlFile(path: string): { doc: Document.Parsed; at: At } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new Error(`${path} line ${e.linePos?.[0]?.line ?? "?"}: ${e.message.split("\n")[0]}`);
  }
  return { doc, at: (node) => (node?.range ? `${path} line ${lines.linePos(node.range[0]).line}` : path) };
}
