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

  /** `sizeHint`: the size of the previous render, so a steady scrape never grows and copies. */
  constructor(sizeHint = 1 << 16) {
    this.buf = Buffer.allocUnsafe(sizeHint) as Buffer & Utf8Writable;
  }

  write(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.len + s.length * 3 > this.buf.length) this.grow(s.length * 3);
    // Buffer#utf8Write skips Buffer#write's argument juggling, a third of a large render's time.
    this.len += this.buf.utf8Write(s, this.len);
  }

  /** Appends a copy of bytes already written (a series' label prefix, reused for each of its lines). */
  repeat(start: number, end: number): void {
    if (this.len + (end - start) > this.buf.length) this.grow(end - start);
    this.buf.copyWithin(this.len, start, end);
    this.len += end - start;
  }

  /** Marks where a section starts, so a failed section can be undone. */
  mark(): number {
    return this.len;
  }

  rewind(to: number): void {
    this.len = to;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + need)) as Buffer & Utf8Writable;
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
