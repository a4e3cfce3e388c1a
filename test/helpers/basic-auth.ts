import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";

/**
 * A new directory holding web.yml, a web config with one basic-auth user (bcrypt cost 10, as
 * hash-password makes them), for `--web.config.file`.
 */
export function oneUserWebConfig(prefix: string, user: string, password: string): { dir: string; web: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const web = join(dir, "web.yml");
  writeFileSync(web, `basic_auth_users:\n  ${user}: "${bcrypt.hashSync(password, 10)}"\n`);
  return { dir, web };
}

/** The header basic auth sends for these credentials. */
export const basicAuth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
