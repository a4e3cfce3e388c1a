import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Certs {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });

/**
 * A throwaway CA, a server certificate for `names` (DNS names and IP addresses) and a client
 * certificate, made with openssl as the README's first-try recipe does.
 */
export function makeCerts(dir: string, names: string[]): Certs {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=kissbot test CA", "-keyout", "ca.key", "-out", "ca.crt"], dir);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  writeFileSync(join(dir, "server.ext"), `subjectAltName=${san}\n`);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=kissbot-bridge", "-keyout", "server.key", "-out", "server.csr"], dir);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt"], dir);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=prometheus", "-keyout", "client.key", "-out", "client.csr"], dir);
  openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "client.crt"], dir);
  return { ca: join(dir, "ca.crt"), serverCert: join(dir, "server.crt"), serverKey: join(dir, "server.key"), clientCert: join(dir, "client.crt"), clientKey: join(dir, "client.key") };
}
