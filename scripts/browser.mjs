// Shared by the page smoke test, the end-to-end tests and the browser benchmark: serve a built
// dist/ directory on a free loopback port, and start Debian's Chromium headless through
// playwright-core with the flags that work on machines with no outside network (no background
// networking, no component updates, no sync).

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

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

/// Serves `distDir`; resolves to { url, close }.
export async function serveDist(distDir) {
  const server = createServer(async (request, response) => {
    const asked = normalize(decodeURIComponent(new URL(request.url, "http://localhost").pathname));
    const path = asked === "/" ? "/index.html" : asked;
    try {
      const body = await readFile(join(distDir, path));
      response.writeHead(200, {
        "content-type": contentTypes[extname(path)] ?? "application/octet-stream",
        // Cross-origin isolation, as Trunk.toml's [serve.headers]: the page's Cancel then
        // reaches a statement running in a worker through shared memory.
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      });
      response.end(body);
    } catch {
      response.writeHead(404);
      response.end("not found");
    }
  });
  await new Promise((ready) => server.listen(0, "127.0.0.1", ready));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/// Headless Chromium (PGPLAY_CHROMIUM, default /usr/bin/chromium).
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.PGPLAY_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
