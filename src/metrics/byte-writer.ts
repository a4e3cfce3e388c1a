import { formatValue } from "./format.js";

/** Present on every Node Buffer (what Buffer#write calls for "utf8"), though absent from the typings. */
interface Utf8Writable {
  utf8Write(s: string, offset: number): number;
}

/**
 * An append-only byte buffer for the exposition. Each line is written as soon as it is built,
 * so the half-million short strings of a large scrape die young instead of piling up in arrays
 * until a final join (measured: that pile-up made the garbage collector most of a render).
 */
export class ByteWriter {
  private buf: Buffer & Utf8Writable;
  private len = 0;

  /**
   * `start`: a buffer to write into, e.g. one kept from an earlier render that is no longer in
   * use, sized like the previous render so that a steady scrape never grows and copies. A fresh
   * buffer of tens of MB per scrape costs page faults and full garbage collections (measured:
   * half of a large render's time).
   */
  constructor(start: Buffer | number = 1 << 16) {
    this.buf = (typeof start === "number" ? Buffer.allocUnsafe(start) : start) as Buffer & Utf8Writable;
  }

  write(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.len + s.length * 3 > this.buf.length) this.grow(s.length * 3);
    // Buffer#utf8Write skips Buffer#write's argument juggling, a third of a large render's time.
    this.len += this.buf.utf8Write(s, this.len);
  }

  /** Appends bytes encoded beforehand (constant parts of lines). */
  bytes(b: Uint8Array): void {
    if (this.len + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  byte(b: number): void {
    if (this.len === this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
  }

  /** A sample value as the exposition formats spell it. */
  number(v: number): void {
    if (Number.isSafeInteger(v) && v >= 0) return this.uint(v);
    const s = formatValue(v);
    if (this.len + s.length > this.buf.length) this.grow(s.length);
    // Numbers are ASCII: a loop beats a call into the UTF-8 encoder for a dozen characters.
    for (let i = 0; i < s.length; i++) this.buf[this.len + i] = s.charCodeAt(i);
    this.len += s.length;
  }

  /** Appends a non-negative safe integer's digits without making a string. */
  private uint(n: number): void {
    if (this.len + 16 > this.buf.length) this.grow(16);
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let at = this.len + digits;
    this.len = at;
    do {
      this.buf[--at] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** Marks where a section starts, so a failed section can be undone. */
  mark(): number {
    return this.len;
  }

  rewind(to: number): void {
    this.len = to;
  }

  /** A copy of bytes written since `start`, to keep beyond this render. */
  copyFrom(start: number): Buffer {
    return Buffer.from(this.buf.subarray(start, this.len));
  }

  /** The bytes written, a view of `buffer` (valid until that buffer is written to again). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** The whole buffer written into, grown or not, to reuse once the bytes are no longer needed. */
  get buffer(): Buffer {
    return this.buf;
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + need)) as Buffer & Utf8Writable;
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
