import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** Tests run compiled from dist/test/…; the repository root is three levels above this file. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const CLI = join(REPO_ROOT, "dist", "src", "cli.js");
export const FIXTURES = join(REPO_ROOT, "test", "fixtures");
