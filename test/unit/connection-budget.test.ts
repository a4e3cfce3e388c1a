import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { ConnectionBudget } from "../../src/http/connection-budget.js";
import { waitFor } from "../helpers/wait.js";

/** A real HTTP server whose requests wait until the test answers them, with a budget of 3. */
async function server(t: { after(fn: () => unknown): void }) {
  let now = 0;
  let shed = 0;
  const waiting: ServerResponse[] = [];
  const http = createServer((_req, res) => waiting.push(res));
  const budget = new ConnectionBudget(3, 10_000, () => now, () => shed++);
  budget.attach(http);
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const port = (http.address() as { port: number }).port;
  t.after(() => {
    http.closeAllConnections();
    http.close();
  });
  const open = async (request: boolean): Promise<Socket> => {
    const s: Socket = connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    if (request) s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    return s;
  };
  return { budget, waiting, open, advance: (ms: number) => (now += ms), shed: () => shed, size: () => budget.size };
}

test("past the bound the idlest connection with no request in flight makes room; one answering a request is never closed for it", async (t) => {
  const s = await server(t);
  const busy = await s.open(true);
  await waitFor("the request in flight", () => (s.waiting.length === 1 ? true : undefined));
  s.advance(1);
  const oldIdle = await s.open(false);
  s.advance(1);
  const newIdle = await s.open(false);
  await waitFor("three held", () => (s.size() === 3 ? true : undefined));
  s.advance(1);
  const next = await s.open(false);
  await waitFor("the idlest closed", () => (oldIdle.closed ? true : undefined));
  assert.deepEqual([busy.closed, newIdle.closed, next.closed], [false, false, false], "the busy one, the newer idle one and the newcomer stay");
  assert.equal(s.shed(), 1);

  // Every held connection answering a request: a newcomer is the one closed.
  newIdle.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  next.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await waitFor("three requests in flight", () => (s.waiting.length === 3 ? true : undefined));
  const refused = await s.open(false);
  await waitFor("the newcomer closed", () => (refused.closed ? true : undefined));
  assert.deepEqual([busy.closed, newIdle.closed, next.closed], [false, false, false]);
  assert.equal(s.shed(), 2);
  for (const s2 of [busy, newIdle, next]) s2.destroy();
});

test("a connection with no request in flight for the idle bound is closed, one answering a long request is not", async (t) => {
  const s = await server(t);
  const busy = await s.open(true);
  const idle = await s.open(false);
  await waitFor("the request in flight", () => (s.waiting.length === 1 ? true : undefined));
  s.advance(10_001);
  await waitFor("the idle one closed by the sweep (every second)", () => (idle.closed ? true : undefined), 5000);
  assert.equal(busy.closed, false);
  s.waiting[0]!.end("done");
  busy.destroy();
});
