import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SMTPServer } from "smtp-server";
import { waitFor } from "./wait.js";

/** A message as the SMTP server received it. */
export interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  /** Whether the session was encrypted (STARTTLS or implicit TLS) when the message came. */
  secure: boolean;
  raw: string;
}

/** A certificate for 127.0.0.1 made now (openssl), and the file a client trusts it through (NODE_EXTRA_CA_CERTS). */
export function selfSigned(): { key: Buffer; cert: Buffer; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "kb-smtp-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")), certFile: join(dir, "cert.pem") };
}

/**
 * A real SMTP server (nodemailer's smtp-server): STARTTLS on a plain port, or implicit TLS, and
 * AUTH PLAIN/LOGIN checked against one user. Refuses mail from a session that did not log in, and
 * AUTH before TLS. `reject` makes the next messages answer a reply code (a 451 or a 550).
 */
export class SmtpReceiver {
  readonly mails: Mail[] = [];
  private readonly refusals: Array<{ code: number; text: string }> = [];
  private server: SMTPServer | undefined;
  port = 0;

  constructor(
    private readonly tls: { key: Buffer; cert: Buffer },
    private readonly login: { user: string; pass: string },
    private readonly implicit = false,
  ) {}

  async start(): Promise<this> {
    this.server = new SMTPServer({
      secure: this.implicit,
      key: this.tls.key,
      cert: this.tls.cert,
      authMethods: ["PLAIN", "LOGIN"],
      authOptional: false,
      allowInsecureAuth: false,
      logger: false,
      onAuth: (auth, _session, cb) => (auth.username === this.login.user && auth.password === this.login.pass ? cb(null, { user: auth.username }) : cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }))),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const refusal = this.refusals.shift();
          if (refusal !== undefined) return cb(Object.assign(new Error(refusal.text), { responseCode: refusal.code }));
          this.mails.push({ from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), user: session.user as string | undefined, secure: session.secure, raw: Buffer.concat(chunks).toString("utf8") });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  reject(code: number, text: string): void {
    this.refusals.push({ code, text });
  }

  waitMails(count: number, timeoutMs = 15_000): Promise<Mail[]> {
    return waitFor(`${count} mail(s) (have ${this.mails.length})`, () => (this.mails.length >= count ? this.mails : undefined), timeoutMs, 20);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }
}
