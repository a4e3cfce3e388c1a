import { createServer } from "node:net";
import { unlinkSync } from "node:fs";

/**
 * The baseline: a bare Node Unix socket server that only splits lines and parses JSON.
 * Whatever the bridge does beyond that shows as its ratio to this. Reports its count over IPC.
 */
const path = process.argv[2]!;
try {
  unlinkSync(path);
} catch {}
let count = 0;
const server = createServer((socket) => {
  let rest = "";
  socket.on("data", (chunk: Buffer) => {
    const text = rest + chunk.toString("utf8");
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      JSON.parse(text.slice(start, nl));
      count++;
      start = nl + 1;
    }
    rest = text.slice(start);
  });
  socket.on("error", () => {});
});
server.listen({ path, backlog: 511 }, () => process.send!({ ready: true }));
process.on("message", () => process.send!({ count }));
