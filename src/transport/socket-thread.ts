import { parentPort, workerData } from "node:worker_threads";
import { CONNECTION_DROP_REASONS, SocketServer } from "./socket-server.js";
import { LineBatcher } from "./line-batch.js";
import { statSlot, type FromSocketThread, type SocketThreadData, type ToSocketThread } from "./socket-thread-protocol.js";
import { every, internalErrors } from "../util/guard.js";
import { MIB } from "../util/units.js";

/**
 * The Monitor socket's own thread: it accepts, reads and frames, and hands the main thread its
 * lines in batches (socket-transport.ts). Accepting no longer waits for the main thread, so a
 * burst of stock-client connects is taken in while the main thread ingests, renders a scrape or
 * collects garbage; and Node's cost per connection (a Socket, its streams, closing its handle)
 * is paid here, not on the thread that ingests.
 */
const port = parentPort!;
const post = (m: FromSocketThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const { options, handled, stats } = workerData as SocketThreadData;
/**
 * Lines and bytes handed on and not yet handled by the main thread; past either bound, reading
 * waits (the kernel holds the rest). 20,000 lines is two seconds of the heaviest burst measured
 * here, and leaves the database's queue room for them: lines handed on before it asked the
 * main thread to pause reading are still stored, and its queue drops rows only past twice its
 * bound of 60,000 (store-writer.ts).
 */
const MAX_UNHANDLED_LINES = 20_000;
const MAX_UNHANDLED_BYTES = 16 * MIB;
let sentBytes = 0n;
let sentLines = 0n;
/** The main thread counts what it has handled in shared memory: no message back per batch. */
const done = new BigInt64Array(handled);
const behind = (share: number) => Number(sentBytes - Atomics.load(done, 0)) > share * MAX_UNHANDLED_BYTES || Number(sentLines - Atomics.load(done, 1)) > share * MAX_UNHANDLED_LINES;
let pausedByMain = false;
let pausedByFlow = false;

internalErrors.attach((_key, fields) => post({ kind: "error", message: String(fields["err"]), stack: fields["stack"] as string | undefined }));

const batcher = new LineBatcher((batch) => {
  sentBytes += BigInt(batch.bytes.byteLength);
  sentLines += BigInt(batch.lines);
  if (!pausedByFlow && behind(1)) holdReading();
  publish();
  post({ kind: "batch", ...batch }, [batch.bytes]);
});
const shared = new BigInt64Array(stats);
const server = new SocketServer(options, batcher, publish);

/** The counts, where the main thread reads them: on every connection's arrival and departure, with every batch, and every second. */
function publish(): void {
  Atomics.store(shared, statSlot("accepted"), BigInt(server.connectionsAccepted));
  Atomics.store(shared, statSlot("open"), BigInt(server.openConnections));
  Atomics.store(shared, statSlot("buffered"), BigInt(server.bufferedBytes));
  for (const reason of CONNECTION_DROP_REASONS) Atomics.store(shared, statSlot(reason), BigInt(server.dropped.get(reason)));
}

function applyPause(): void {
  if (pausedByMain || pausedByFlow) server.pause();
  else server.resume();
}

/** While reading waits for the main thread: it resumes once that thread has caught up by half. */
let catchingUp: NodeJS.Timeout | undefined;
function holdReading(): void {
  pausedByFlow = true;
  applyPause();
  catchingUp ??= every("transport", 5, () => {
    if (behind(0.5)) return;
    clearInterval(catchingUp);
    catchingUp = undefined;
    pausedByFlow = false;
    applyPause();
  });
}

// Unfinished lines grow without a connection coming or going, or a batch.
every("transport", 1000, publish);

port.on(
  "message",
  internalErrors.guard("transport", async (m: ToSocketThread) => {
    switch (m.op) {
      case "start":
        try {
          await server.start();
          post({ kind: "started", backlog: server.backlog });
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          post({ kind: "failed", message: e.message, code: e.code });
        }
        return;
      case "pause":
        pausedByMain = true;
        return applyPause();
      case "resume":
        pausedByMain = false;
        return applyPause();
      case "stop":
        clearInterval(catchingUp);
        pausedByMain = pausedByFlow = false;
        await server.stop(m.graceMs);
        batcher.flush();
        publish();
        post({ kind: "stopped" });
        return;
    }
  }),
);
