import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { REPO_ROOT } from "./paths.js";

/** Debian's chromium (scripts/install-test-deps.sh installs it); nothing is downloaded. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Screenshots and other files a person may want to look at after a run. */
export const TEST_OUTPUT = join(REPO_ROOT, "test-output");

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container there is no sandbox to use; the background-networking flags keep
    // Chromium from reaching for Google's hosts, which a closed network refuses. Playwright gives
    // each launch a fresh temporary profile.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page that records every console error, uncaught exception and failed request. */
export async function watchedPage(browser: Browser, viewport = { width: 1300, height: 1000 }): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => {
    // The live feed's request is cut when the page goes away or the bridge stops: not a failure.
    if (!r.url().endsWith("/api/v1/live")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, problems };
}

export function screenshotPath(name: string): string {
  const dir = join(TEST_OUTPUT, "status-page");
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
