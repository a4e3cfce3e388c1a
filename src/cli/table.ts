/** Aligned text tables for the terminal: coloured on a TTY, plain when piped or NO_COLOR is set. */
export type Column<T> = { title: string; value: (row: T) => string; right?: boolean; color?: (row: T) => Color | undefined };
export type Color = "green" | "yellow" | "red" | "grey";

const CODES: Record<Color, string> = { green: "\u001b[32m", yellow: "\u001b[33m", red: "\u001b[31m", grey: "\u001b[90m" };

export function useColor(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env["NO_COLOR"] === undefined;
}

/** Control characters shown as \xHH: text from bots or the database never drives the terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], color: boolean): string {
  const cells = rows.map((r) => columns.map((c) => printable(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[], row?: T) =>
    values
      .map((v, i) => {
        const c = columns[i]!;
        const padded = c.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
        const tint = row === undefined || !color ? undefined : c.color?.(row);
        return tint === undefined ? padded : `${CODES[tint]}${padded}\u001b[0m`;
      })
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map((v, i) => line(v, rows[i]))].join("\n") + "\n";
}

export function duration(seconds: number | null): string {
  if (seconds === null) return "-";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, "0")}h`;
}
