import { TLSSocket, type SecureContextOptions, type TlsOptions } from "node:tls";
import type { NextFunction, Request, Response } from "express";
import { loadWebConfig, type TlsSettings, type WebConfig } from "./web-config.js";
import type { AuthRefusal } from "./basic-auth.js";

/** The web config in force; SIGHUP rereads it, and a file that fails keeps the running one. */
export class ReloadableWebConfig {
  constructor(public current: WebConfig) {}

  /**
   * Rereads the file. Users, headers and TLS certificates change at once; turning TLS on or off,
   * or changing who must show a client certificate, needs a restart (the listening socket was
   * made for the first), and this says so.
   */
  reload(): { config: WebConfig; restartNeeded: string | undefined } {
    const next = loadWebConfig(this.current.path);
    const before = this.current.tls;
    let restartNeeded: string | undefined;
    if ((before === undefined) !== (next.tls === undefined)) restartNeeded = "TLS was turned on or off";
    else if (before !== undefined && next.tls !== undefined && before.clientAuth !== next.tls.clientAuth) restartNeeded = "client_auth_type changed";
    this.current = next;
    return { config: next, restartNeeded };
  }
}

/** Options of Node's TLS server for the web config's tls_server_config. */
export function tlsServerOptions(t: TlsSettings): TlsOptions {
  return {
    ...secureContext(t),
    requestCert: t.clientAuth !== "NoClientCert",
    // Only RequireAndVerifyClientCert fails the handshake; the others are checked per request below.
    rejectUnauthorized: t.clientAuth === "RequireAndVerifyClientCert",
  };
}

/** What setSecureContext takes on reload: certificates and versions. */
export function secureContext(t: TlsSettings): SecureContextOptions {
  return { cert: t.cert, key: t.key, ca: t.clientCa, minVersion: t.minVersion, ...(t.maxVersion === undefined ? {} : { maxVersion: t.maxVersion }) };
}

/**
 * The web config's response headers, and its client-certificate rules that the handshake does
 * not enforce (RequireAnyClientCert: some certificate; VerifyClientCertIfGiven: a given one must
 * verify against client_ca_file).
 */
export function webConfigGuard(config: () => WebConfig, refuse: (reason: AuthRefusal) => void) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const c = config();
    for (const [name, value] of c.headers) res.set(name, value);
    const mode = c.tls?.clientAuth;
    if (!(req.socket instanceof TLSSocket) || (mode !== "RequireAnyClientCert" && mode !== "VerifyClientCertIfGiven")) return next();
    const cert = req.socket.getPeerCertificate();
    const given = cert !== null && Object.keys(cert).length > 0;
    if ((mode === "RequireAnyClientCert" && !given) || (mode === "VerifyClientCertIfGiven" && given && !req.socket.authorized)) {
      refuse("client_cert");
      res.status(403).type("text/plain").send("A valid client certificate is required.\n");
      return;
    }
    next();
  };
}
