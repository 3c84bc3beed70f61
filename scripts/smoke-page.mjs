// Smoke test of the built page: serves dist/ on a free loopback port, opens it in headless
// Chromium (Debian's, driven by playwright-core) and checks that the Yew app rendered, with no
// page error and no console error. Saves a screenshot as an artifact.
//
//   node scripts/smoke-page.mjs [DIST_DIR] [SCREENSHOT_PATH]
//
// The full end-to-end suite will live elsewhere; this only proves the page boots.

import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize, dirname, resolve } from "node:path";
import { serveDist, launchChromium } from "./browser.mjs";

const distDir = resolve(process.argv[2] ?? "dist");
const screenshotPath = resolve(process.argv[3] ?? "target/artifacts/smoke-page.png");
const timeoutMs = Number(process.env.PGPLAY_SMOKE_TIMEOUT_MS ?? 30_000);

const served = await serveDist(distDir);
const url = served.url;

const problems = [];
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`console error: ${message.text()} (${message.location().url})`);
    }
  });
  await page.goto(url, { timeout: timeoutMs });
  const heading = page.getByRole("heading", { level: 1, name: "pgplay" });
  await heading.waitFor({ timeout: timeoutMs });
  await page.getByRole("region", { name: "Cluster" }).waitFor({ timeout: timeoutMs });
  await mkdir(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath });
} catch (error) {
  problems.push(String(error));
} finally {
  await browser.close();
  served.close();
}

if (problems.length > 0) {
  console.error(`page smoke test FAILED on ${url}:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`page smoke test ok: ${url} rendered; screenshot ${screenshotPath}`);
