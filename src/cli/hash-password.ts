import { parseArgs } from "node:util";
import bcrypt from "bcryptjs";
import type { Out } from "./common.js";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/**
 * `kissbot-bridge hash-password`: reads a password on stdin (never from the command line, where
 * `ps` and the shell's history would keep it) and prints its bcrypt hash for basic_auth_users.
 */
export async function hashPasswordCommand(argv: string[], _env: NodeJS.ProcessEnv, out: Out, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { cost: { type: "string", default: "10" }, help: { type: "boolean" } }, strict: true });
  if (values.help) {
    out.stdout.write("Usage: echo -n 'PASSWORD' | kissbot-bridge hash-password [--cost 10]\n\nPrints the bcrypt hash of the password read on stdin, for basic_auth_users in --web.config.file.\n");
    return 0;
  }
  const cost = Number(values.cost);
  if (!Number.isInteger(cost) || cost < 4 || cost > 15) {
    out.stderr.write("kissbot-bridge: --cost is a whole number from 4 to 15 (10: about 0.1 s a check)\n");
    return 2;
  }
  const password = (await readAll(stdin)).replace(/\r?\n$/, "");
  if (password === "") {
    out.stderr.write("kissbot-bridge: no password on stdin: echo -n 'PASSWORD' | kissbot-bridge hash-password\n");
    return 2;
  }
  out.stdout.write(`${bcrypt.hashSync(password, cost)}\n`);
  return 0;
}
