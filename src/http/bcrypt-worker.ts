import bcrypt from "bcryptjs";
import { serve } from "../util/worker-channel.js";

const rest = new Int32Array(new SharedArrayBuffer(4));

/**
 * Checks basic-auth passwords against bcrypt hashes on their own thread: each check is about
 * 0.1 s of CPU, which on the main thread would stall ingest and every scrape for as long. One
 * check at a time, as exporter-toolkit runs them behind a mutex, each followed by a rest as long
 * as it took: a flood of wrong passwords takes half a core at most, whatever the machine.
 */
serve<{ password: string; hash: string }, boolean>(({ password, hash }) => {
  const started = performance.now();
  const ok = bcrypt.compareSync(password, hash);
  // Atomics.wait sleeps the thread (no CPU); nothing ever wakes it early.
  Atomics.wait(rest, 0, 0, performance.now() - started);
  return ok;
});
