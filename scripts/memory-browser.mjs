// Memory of the browser cluster under a steady write load, in headless Chromium: the primary
// commits `--rate` single-row INSERTs a second for `--minutes`, both standbys replaying, the full
// UI rendering the stream; the table is emptied every 30 s, so what stays is WAL, queues and the
// page's lists. Every 30 s it prints each worker's WebAssembly memory (it only ever
// grows, so it shows the peak) and the page's JavaScript heap. A bounded design shows up as
// numbers that level off; a leak as numbers that keep climbing.
//
//   node scripts/memory-browser.mjs [DIST_DIR] [--minutes N] [--rate R]

import { resolve } from "node:path";
import { serveDist, launchChromium } from "./browser.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const distDir = resolve(args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ?? "dist");
const minutes = option("--minutes", 10);
const rate = option("--rate", 500);
const sliceSeconds = 30;

const served = await serveDist(distDir);
const browser = await launchChromium();
const mb = (bytes) => (bytes / (1024 * 1024)).toFixed(1);
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(served.url);
  await page.waitForFunction(() => window.pgplay && window.pgplay.allStreaming(), null, { timeout: 60000 });
  const sample = async (elapsed) => {
    const { status, heap } = await page.evaluate(() => ({
      status: JSON.parse(window.pgplay.status()),
      heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    }));
    const nodes = Object.entries(status)
      .map(([name, s]) => `${name} ${mb(s?.memory_bytes ?? 0)} MB`)
      .join(", ");
    const flush = status.primary?.flush ?? "?";
    console.log(`t=${String(elapsed).padStart(5)} s  wasm memory: ${nodes}; page JS heap ${mb(heap)} MB; primary at ${flush}`);
  };
  await sample(0);
  const slices = Math.max(1, Math.round((minutes * 60) / sliceSeconds));
  for (let i = 1; i <= slices; i++) {
    await page.evaluate(([n, r]) => window.pgplay.load("primary", n, r), [rate * sliceSeconds, rate]);
    // The table's rows are data, not a leak: empty it (standbys replay that too).
    await page.evaluate(() => window.pgplay.psql("primary", "TRUNCATE bench;"));
    await sample(i * sliceSeconds);
  }
} finally {
  await browser.close();
  served.close();
}
