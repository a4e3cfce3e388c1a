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
