import { connect, type Socket } from "node:net";

/** A raw streaming connection to the Monitor socket, for sending exact bytes. */
export async function openStream(path: string): Promise<Socket> {
  const s = connect({ path });
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
  });
  return s;
}

export async function writeAll(s: Socket, data: string | Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Ends our side and waits until the bridge has closed its side too. */
export async function finish(s: Socket): Promise<void> {
  const closed = new Promise((r) => s.once("close", r));
  s.end();
  await closed;
}

/**
 * One send as KissBot's stock client makes it: connect, write one line, close. Resolves true when
 * the sender saw it succeed, false when the connect or the write failed (a full backlog, no
 * socket file).
 */
export function sendOnce(path: string, text: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    let ok = false;
    s.once("connect", () => s.end(text, () => (ok = true)));
    s.once("error", () => resolve(false));
    s.once("close", (hadError) => resolve(ok && !hadError));
  });
}

/**
 * `n` connections opened and held (their errors ignored, as an attacker's would be), each
 * writing what `first(i)` returns once connected, if anything. The caller destroys them.
 */
export function holdConnections(to: { path: string } | { port: number; host: string }, n: number, first?: (i: number) => string | undefined): Socket[] {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect(to);
    s.on("error", () => {});
    const text = first?.(i);
    if (text !== undefined) s.once("connect", () => s.write(text));
    sockets.push(s);
  }
  return sockets;
}
