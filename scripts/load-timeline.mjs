// Where the page's start goes: from navigation to "primary + 2 standbys streaming", the moments
// each file is fetched, each worker starts, and the cluster streams (headless Chromium, a built
// dist/). Three loads in one browser, as scripts/bench-browser.mjs times them.
//
//   node scripts/load-timeline.mjs [DIST_DIR] [--loads N]

import { resolve } from "node:path";
import { serveDist, launchChromium } from "./browser.mjs";

const args = process.argv.slice(2);
const distDir = resolve(args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "dist");
const loadsIndex = args.indexOf("--loads");
const loads = loadsIndex >= 0 ? Number(args[loadsIndex + 1]) : 3;

const served = await serveDist(distDir);
const browser = await launchChromium();
try {
  for (let i = 0; i < loads; i++) {
    const page = await browser.newPage();
    const events = [];
    let t0 = 0;
    const at = (what) => events.push([Date.now() - t0, what]);
    page.on("request", (r) => at(`request ${r.url().split("/").pop()}`));
    page.on("requestfinished", (r) => at(`fetched ${r.url().split("/").pop()}`));
    page.on("worker", (w) => at(`worker ${w.url().split("/").pop()}`));
    page.on("console", (m) => at(`console ${m.text().slice(0, 80)}`));
    t0 = Date.now();
    await page.goto(served.url);
    at("goto resolved (load event)");
    await page.waitForFunction(() => window.pgplay, null, { timeout: 60000, polling: 2 });
    at("window.pgplay set");
    await page.waitForFunction(() => window.pgplay.allStreaming(), null, { timeout: 60000, polling: 2 });
    at("all streaming");
    console.log(`load ${i + 1}:`);
    for (const [ms, what] of events) console.log(`  ${String(ms).padStart(6)} ms  ${what}`);
    await page.close();
  }
} finally {
  await browser.close();
  served.close();
}
