/**
 * Badges an owner embeds in a README or a stream panel: a flat two-part SVG in the style
 * shields.io made common, and the same facts in shields.io's endpoint schema. Text from a request
 * (a channel name) is escaped as XML text, never markup.
 */
export const BADGE_COLORS = {
  brightgreen: "#4c1",
  green: "#97ca00",
  yellow: "#dfb317",
  orange: "#fe7d37",
  red: "#e05d44",
  blue: "#007ec6",
  lightgrey: "#9f9f9f",
} as const;
export type BadgeColor = keyof typeof BADGE_COLORS;

export interface Badge {
  label: string;
  message: string;
  color: BadgeColor;
}

/** Longest text a badge part shows; longer names are cut with an ellipsis. */
const MAX_TEXT = 40;

const xml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const clip = (s: string) => {
  const chars = [...s.replace(/[\u0000-\u001f\u007f]/g, "")];
  return chars.length <= MAX_TEXT ? chars.join("") : `${chars.slice(0, MAX_TEXT - 1).join("")}…`;
};

/**
 * Width of text in Verdana 11 px, from the glyph classes' widths (close to shields.io's table);
 * textLength then fits the text to it exactly, so no viewer clips it.
 */
function textWidth(text: string): number {
  let w = 0;
  for (const c of text) {
    if ("ijlI.,:;|!'` ".includes(c)) w += 3.9;
    else if ("ftr()[]{}/\\-".includes(c)) w += 4.9;
    else if ("mwMW%@".includes(c)) w += 10.5;
    else if (c >= "A" && c <= "Z") w += 7.6;
    else w += 6.9;
  }
  return Math.ceil(w);
}

export function badgeSvg(b: Badge): string {
  const label = clip(b.label);
  const message = clip(b.message);
  const lw = textWidth(label) + 10;
  const mw = textWidth(message) + 10;
  const w = lw + mw;
  const title = xml(`${label}: ${message}`);
  const text = (s: string, x: number, width: number) =>
    `<text aria-hidden="true" x="${x * 10}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="${width * 10}">${xml(s)}</text><text x="${x * 10}" y="140" transform="scale(.1)" fill="#fff" textLength="${width * 10}">${xml(s)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${title}">`,
    `<title>${title}</title>`,
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`,
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>`,
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${BADGE_COLORS[b.color]}"/><rect width="${w}" height="20" fill="url(#s)"/></g>`,
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">`,
    text(label, lw / 2, lw - 10),
    text(message, lw + mw / 2, mw - 10),
    `</g></svg>`,
  ].join("");
}

/** shields.io's endpoint schema (https://shields.io/badges/endpoint-badge), version 1. */
export function shieldsJson(b: Badge): { schemaVersion: 1; label: string; message: string; color: BadgeColor } {
  return { schemaVersion: 1, label: clip(b.label), message: clip(b.message), color: b.color };
}

/** The status badge: the bot's state in one word. */
export const STATUS_BADGE_COLORS = new Map<string, BadgeColor>([
  ["online", "brightgreen"],
  ["stale", "yellow"],
  ["dead", "red"],
  ["stopped", "lightgrey"],
  ["snoozed", "blue"],
  ["unknown", "lightgrey"],
]);

/** Green at or above the objective, then yellow, orange and red as the miss grows tenfold. */
export function availabilityColor(ratio: number | null, objective: number): BadgeColor {
  if (ratio === null) return "lightgrey";
  const budget = 1 - objective;
  const missed = 1 - ratio;
  if (missed <= budget / 10) return "brightgreen";
  if (missed <= budget) return "green";
  if (missed <= budget * 5) return "yellow";
  if (missed <= budget * 10) return "orange";
  return "red";
}

/** 99.82% — two decimals, never rounded up to a 100% that was not reached. */
export function percent(ratio: number): string {
  const floored = Math.floor(ratio * 10_000) / 100;
  return `${floored.toFixed(2)}%`;
}
