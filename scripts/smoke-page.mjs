// Smoke test of the built page: serves dist/ on a free loopback port, opens it in headless
// Chromium (Debian's, driven by playwright-core) and checks that the Yew app rendered, with no
// page error and no console error. Saves a screenshot as an artifact.
//
//   node scripts/smoke-page.mjs [DIST_DIR] [SCREENSHOT_PATH]
//
// The full end-to-end suite will live elsewhere; this only proves the page boots.

import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize, dirname, resolve } from "node:path";
import { chromium } from "playwright-core";

const distDir = resolve(process.argv[2] ?? "dist");
const screenshotPath = resolve(process.argv[3] ?? "target/artifacts/smoke-page.png");
const executablePath = process.env.PGPLAY_CHROMIUM ?? "/usr/bin/chromium";
const timeoutMs = Number(process.env.PGPLAY_SMOKE_TIMEOUT_MS ?? 30_000);

const contentTypes = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

const server = createServer(async (request, response) => {
  const urlPath = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
  const relative = normalize(urlPath === "/" ? "/index.html" : urlPath);
  try {
    const body = await readFile(join(distDir, relative));
    response.writeHead(200, { "content-type": contentTypes[extname(relative)] ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404);
    response.end("not found");
  }
});
await new Promise((ready) => server.listen(0, "127.0.0.1", ready));
const url = `http://127.0.0.1:${server.address().port}/`;

const problems = [];
const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
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
  server.close();
}

if (problems.length > 0) {
  console.error(`page smoke test FAILED on ${url}:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`page smoke test ok: ${url} rendered; screenshot ${screenshotPath}`);
