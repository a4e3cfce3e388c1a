/** What the splitter hands on: a complete line, or notice that one was too long and discarded. */
export interface LineSink {
  line(line: Buffer): void;
  tooLong(): void;
  /** The shared budget for partial lines refused more room: the line in hand was discarded. */
  overBudget?(): void;
}

/** Bytes of partial lines held across every connection, shared by their splitters. */
export interface ByteBudget {
  /** Room for `bytes` more, or false (the holder then lets go of its partial line). */
  take(bytes: number, holder: LineSplitter): boolean;
  give(bytes: number): void;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines of at most `maxLineBytes` (newline excluded). An over-long
 * line is discarded up to its newline and reported once; the stream carries on, so the next
 * line on the same connection still lands. Memory held per connection never exceeds the bound.
 */
export class LineSplitter {
  /** The part of a line received so far, in one buffer grown by doubling (never a chunk list). */
  private pending: Buffer | undefined;
  private pendingBytes = 0;
  private discarding = false;
  /** Bytes taken from the budget: the capacity of `pending`. */
  private charged = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
    private readonly budget?: ByteBudget,
  ) {}

  /** Memory held for the partial line, in bytes. */
  get heldBytes(): number {
    return this.charged;
  }

  /** Part of a line is buffered (or being discarded): the sender has not finished it. */
  get holding(): boolean {
    return this.pendingBytes > 0 || this.discarding;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      if (this.discarding) {
        this.discarding = false;
      } else if (this.pendingBytes + (nl - start) > this.maxLineBytes + 1) {
        // +1 leaves room for a trailing \r, which is stripped below.
        this.reset();
        this.sink.tooLong();
      } else {
        this.emit(this.take(chunk.subarray(start, nl)));
      }
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (!this.discarding && this.pendingBytes > 0) this.emit(this.take(Buffer.alloc(0)));
    this.reset();
  }

  private hold(rest: Buffer): void {
    if (this.discarding) return;
    if (this.pendingBytes + rest.length > this.maxLineBytes + 1) {
      this.reset();
      this.discarding = true;
      this.sink.tooLong();
      return;
    }
    // Copied into one buffer: a sender dripping a byte at a time must not cost an object per
    // byte. The socket may also reuse the chunk's memory.
    const needed = this.pendingBytes + rest.length;
    if (this.pending === undefined || this.pending.length < needed) {
      const size = Math.min(this.maxLineBytes + 1, Math.max(256, needed, 2 * (this.pending?.length ?? 0)));
      if (this.budget !== undefined && !this.budget.take(size - this.charged, this)) {
        this.reset();
        this.discarding = true;
        this.sink.overBudget?.();
        return;
      }
      // Its own memory (not a slice of Node's shared pool, which a small slice would pin).
      const grown = Buffer.allocUnsafeSlow(size);
      this.pending?.copy(grown, 0, 0, this.pendingBytes);
      this.pending = grown;
      this.charged = size;
    }
    rest.copy(this.pending, this.pendingBytes);
    this.pendingBytes = needed;
  }

  private take(tail: Buffer): Buffer {
    if (this.pendingBytes === 0 || this.pending === undefined) return tail;
    const line = Buffer.concat([this.pending.subarray(0, this.pendingBytes), tail], this.pendingBytes + tail.length);
    this.reset();
    return line;
  }

  private emit(line: Buffer): void {
    const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    if (end > this.maxLineBytes) {
      this.sink.tooLong();
      return;
    }
    this.sink.line(end === line.length ? line : line.subarray(0, end));
  }

  /** Lets go of the partial line and its memory (also when the connection closes). */
  reset(): void {
    this.pending = undefined;
    this.pendingBytes = 0;
    if (this.charged > 0) this.budget?.give(this.charged);
    this.charged = 0;
  }
}
