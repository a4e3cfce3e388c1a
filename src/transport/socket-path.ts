import { connect } from "node:net";
import { lstat, unlink } from "node:fs/promises";
import { after } from "../util/guard.js";

export class SocketInUseError extends Error {}

/** Is something accepting connections on this Unix socket path right now? */
function probe(path: string, timeoutMs: number): Promise<"live" | "dead"> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (state: "live" | "dead") => {
      clearTimeout(timer);
      s.destroy();
      resolve(state);
    };
    const timer = after("transport", timeoutMs, () => done("live"));
    s.once("connect", () => done("live"));
    // A full accept backlog (EAGAIN) means a live but busy server; only refusal means nobody is there.
    s.once("error", (err: NodeJS.ErrnoException) => done(err.code === "EAGAIN" ? "live" : "dead"));
  });
}

/**
 * Makes `path` free for us to listen on: removes a socket left behind by a dead process,
 * and refuses (never steals) a socket that a live process is serving, or a path that is not
 * a socket at all.
 */
export async function claimSocketPath(path: string, probeTimeoutMs = 1000): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new SocketInUseError(`${path} exists and is not a socket; refusing to replace it`);
  }
  if ((await probe(path, probeTimeoutMs)) === "live") {
    throw new SocketInUseError(`another process is listening on ${path}; refusing to take it over`);
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

/** The identity of the socket file we created, so that at exit we remove only our own. */
export interface SocketFileId {
  dev: number;
  ino: number;
}

export async function socketFileId(path: string): Promise<SocketFileId> {
  const st = await lstat(path);
  return { dev: st.dev, ino: st.ino };
}

export async function isOurSocketFile(path: string, id: SocketFileId): Promise<boolean> {
  try {
    const st = await lstat(path);
    return st.dev === id.dev && st.ino === id.ino;
  } catch {
    return false;
  }
}
