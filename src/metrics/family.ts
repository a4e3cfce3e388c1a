import type { MetricSpec } from "./catalog.js";
import { escapeHelp, formatValue, type ExpositionFormat } from "./format.js";
import type { ByteWriter } from "./byte-writer.js";

/**
 * A series' label pairs: a string from `labelString`, built at each scrape, or bytes from
 * `encodeLabels`, built once and kept by a series rendered on every scrape. Copying kept bytes
 * costs well under half of encoding a string again (measured), and large scrapes are mostly
 * such series.
 */
export type Labels = string | Uint8Array;

/** What a family's collect function writes to. */
export interface FamilyWriter {
  /** `extra`: one more constant label pair after `labels` (`token_type="input"`), from `encodeLabels`. */
  sample(labels: Labels, value: number, extra?: Uint8Array): void;
  /** `counts` per bucket (not cumulative), with one more slot than `bounds` for +Inf. */
  histogram(labels: Labels, bounds: readonly number[], counts: readonly number[], sum: number, count: number): void;
  /**
   * The lines `render` writes, kept in `slot` and reused from an earlier scrape while `version`
   * is unchanged. Most series see no change between two scrapes, and copying their bytes is far
   * cheaper than formatting them again. Costs memory about the size of the idle series' lines.
   */
  cached(slot: RenderSlot, version: number, render: () => void): void;
}

export type Collect = (out: FamilyWriter) => void;

/** Where a series' lines in one family are kept between scrapes; owned by the caller. */
export interface RenderSlot {
  version: number;
  bytes: Buffer | undefined;
}

const encode = (s: string) => Buffer.from(s);
const COMMA = encode(",");
const CLOSE = encode("} ");
const NEWLINE = 10;

/** The `le="0.01"} ` ends of bucket lines, for each bound list (with and without labels before). */
const LE_ENDS = new WeakMap<readonly number[], { alone: Buffer[]; afterLabels: Buffer[] }>();
function leEnds(bounds: readonly number[]) {
  let ends = LE_ENDS.get(bounds);
  if (ends === undefined) {
    const alone = [...bounds, Infinity].map((b) => encode(`le="${formatValue(b)}"} `));
    LE_ENDS.set(bounds, (ends = { alone, afterLabels: alone.map((b) => Buffer.concat([COMMA, b])) }));
  }
  return ends;
}

/** `name{`, or `name ` for a series without labels. */
class LineStart {
  readonly open: Buffer;
  readonly bare: Buffer;
  constructor(name: string) {
    this.open = encode(`${name}{`);
    this.bare = encode(`${name} `);
  }
}

/** Writes `start{labels,extra} ` or `start ` (no labels); the value and newline are the caller's. */
function writeLabels(out: ByteWriter, start: LineStart, labels: Labels, extra?: Uint8Array): void {
  if (labels.length === 0 && extra === undefined) return out.bytes(start.bare);
  out.bytes(start.open);
  if (typeof labels === "string") out.write(labels);
  else out.bytes(labels);
  if (extra !== undefined) {
    if (labels.length > 0) out.bytes(COMMA);
    out.bytes(extra);
  }
  out.bytes(CLOSE);
}

/**
 * One metric family of the catalog, collected at scrape time from the bridge's state, so ages
 * are exact and a removed bot's series vanish. Renders itself in either exposition format.
 * Everything constant in its lines (names, `le` values) is encoded once, here.
 */
export class Family {
  private readonly line: LineStart;
  private readonly bucket: LineStart;
  private readonly sum: LineStart;
  private readonly count: LineStart;

  constructor(
    readonly spec: MetricSpec,
    private readonly collect: Collect,
  ) {
    this.line = new LineStart(spec.name);
    this.bucket = new LineStart(`${spec.name}_bucket`);
    this.sum = new LineStart(`${spec.name}_sum`);
    this.count = new LineStart(`${spec.name}_count`);
  }

  /** Appends this family's lines to `out`. Throws if collection fails; the caller rewinds. */
  render(format: ExpositionFormat, out: ByteWriter): void {
    const { name, type, help } = this.spec;
    const { line, bucket, sum: sumStart, count: countStart } = this;
    const familyName = format === "openmetrics" && type === "counter" ? name.replace(/_total$/, "") : name;
    out.write(`# HELP ${familyName} ${escapeHelp(help, format)}\n# TYPE ${familyName} ${type}\n`);
    this.collect({
      sample(labels, value, extra) {
        writeLabels(out, line, labels, extra);
        out.number(value);
        out.byte(NEWLINE);
      },
      histogram(labels, bounds, counts, sum, count) {
        const encoded = typeof labels === "string" ? encode(labels) : labels;
        const ends = encoded.length === 0 ? leEnds(bounds).alone : leEnds(bounds).afterLabels;
        let cumulative = 0;
        for (let i = 0; i <= bounds.length; i++) {
          cumulative = i < bounds.length ? cumulative + counts[i]! : count;
          out.bytes(bucket.open);
          out.bytes(encoded);
          out.bytes(ends[i]!);
          out.number(cumulative);
          out.byte(NEWLINE);
        }
        writeLabels(out, sumStart, encoded);
        out.number(sum);
        out.byte(NEWLINE);
        writeLabels(out, countStart, encoded);
        out.number(count);
        out.byte(NEWLINE);
      },
      cached(slot, version, render) {
        if (slot.version === version && slot.bytes !== undefined) return out.bytes(slot.bytes);
        const start = out.mark();
        render();
        // Keep the bytes only for a series that stayed the same across a scrape: one that changes
        // every time would pay for the copy and never use it.
        slot.bytes = slot.version === version ? out.copyFrom(start) : undefined;
        slot.version = version;
      },
    });
  }
}
