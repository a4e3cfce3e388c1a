import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * An HTTP server on an ephemeral loopback port that reads each request's whole body before
 * handing it on: the base of the stand-ins for services the bridge and Alertmanager talk to.
 */
export class BodyServer {
  port = 0;
  private server: Server | undefined;

  constructor(private readonly handle: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
