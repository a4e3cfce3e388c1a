import { workerData } from "node:worker_threads";
import { serve } from "../../src/util/worker-channel.js";

/** A worker for the channel's own test: echoes, fails, waits, dies and talks on its own when asked. */
export type EchoRequest = { op: "echo"; value: unknown } | { op: "fail"; message: string } | { op: "spin"; ms: number } | { op: "exit" } | { op: "bytes"; size: number } | { op: "tell"; value: string };

const { greeting } = workerData as { greeting: string };
const channel = serve<EchoRequest, unknown, string>(
  (m) => {
    switch (m.op) {
      case "echo":
        return { echoed: m.value, greeting };
      case "fail":
        throw new Error(m.message);
      case "spin": {
        const until = Date.now() + m.ms;
        while (Date.now() < until);
        return "spun";
      }
      case "exit":
        process.exit(3);
      case "bytes":
        return new Uint8Array(m.size);
      case "tell":
        return "told";
    }
  },
  { transfer: (reply) => (reply instanceof Uint8Array ? [reply.buffer as ArrayBuffer] : []), onEvent: (m) => m.op === "tell" && channel.emit(`heard ${m.value}`) },
);
channel.emit("ready");
