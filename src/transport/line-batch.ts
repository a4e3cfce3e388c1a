import type { LineHandler } from "./socket-server.js";
import { KIB } from "../util/units.js";
import { after } from "../util/guard.js";

const NEWLINE = 0x0a;

/** Framed lines on their way from the socket thread to the main thread: each line ends in a newline. */
export type LineBatch = { bytes: ArrayBuffer; lines: number; tooLong: number };

/**
 * Collects the lines the socket thread frames into one buffer, handed on a millisecond after the
 * first (or at once when it fills): one message between threads for all the lines read
 * meanwhile, instead of one per line. A stock client sends one line per connection, so a batch
 * per turn of the event loop still carried one or two lines a message at 10,000 sends a second,
 * and the messages cost more CPU than the lines. A framed line never holds a newline, so
 * newlines separate them again on the other side.
 */
export class LineBatcher implements LineHandler {
  private buf = Buffer.allocUnsafeSlow(16 * KIB);
  private used = 0;
  private lines = 0;
  private tooLongs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (batch: LineBatch) => void,
    private readonly maxBatchBytes = 256 * KIB,
    private readonly delayMs = 1,
  ) {}

  line(line: Buffer): void {
    const needed = this.used + line.length + 1;
    if (needed > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, 2 * this.buf.length));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    line.copy(this.buf, this.used);
    this.used += line.length;
    this.buf[this.used++] = NEWLINE;
    this.lines++;
    if (this.used >= this.maxBatchBytes) this.flush();
    else this.schedule();
  }

  tooLong(): void {
    this.tooLongs++;
    this.schedule();
  }

  /** Hands on what is collected now (nothing when empty). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines === 0 && this.tooLongs === 0) return;
    // An exact copy of its own, so the buffer can be transferred, not cloned, and ours reused.
    const out = Buffer.allocUnsafeSlow(this.used);
    this.buf.copy(out, 0, 0, this.used);
    const batch = { bytes: out.buffer, lines: this.lines, tooLong: this.tooLongs };
    this.used = this.lines = this.tooLongs = 0;
    // A buffer grown for one big batch is not kept.
    if (this.buf.length > this.maxBatchBytes) this.buf = Buffer.allocUnsafeSlow(16 * KIB);
    this.send(batch);
  }

  private schedule(): void {
    this.timer ??= after("transport", this.delayMs, () => this.flush());
  }
}

/** Each line of a batch, in the order read, as a view of the batch's buffer. */
export function forEachLine(bytes: Uint8Array, fn: (line: Buffer) => void): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(NEWLINE, start);
    if (nl === -1) return;
    fn(buf.subarray(start, nl));
    start = nl + 1;
  }
}
