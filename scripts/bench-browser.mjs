// The browser cluster's benchmark (issue 4), on the built page (dist/) in headless Chromium:
//   - page load to "primary + 2 standbys streaming" (median of 3 loads);
//   - single-row autocommit INSERT throughput on the primary while both standbys replay;
//   - commit-to-replay lag on the standbys (median, p99) at 1,000 and 10,000 commits/s;
//   - the round trip of a commit until a standby shows it (page -> primary -> standby -> page);
// then the same INSERT workload on PGlite (one node, no replication, in Node), printed beside
// ours as a ratio, and the transfer size (gzip) of both builds.
//
//   node scripts/bench-browser.mjs [DIST_DIR] [--rows N]

import { readFile, readdir } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { serveDist, launchChromium } from "./browser.mjs";

const args = process.argv.slice(2);
const distDir = resolve(args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "dist");
const rowsIndex = args.indexOf("--rows");
const rows = rowsIndex >= 0 ? Number(args[rowsIndex + 1]) : 10000;

const served = await serveDist(distDir);
const url = served.url;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.round((xs.length - 1) * 0.99))];

const browser = await launchChromium();
let oursTps = 0;
try {
  const loads = [];
  let page;
  for (let i = 0; i < 3; i++) {
    if (page) await page.close();
    page = await browser.newPage();
    const started = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => window.pgplay && window.pgplay.allStreaming(), null, { timeout: 60000 });
    loads.push(Date.now() - started);
  }
  console.log(`load:        page load to primary + 2 standbys streaming: median ${median(loads)} ms (${loads.join(", ")} ms)`);

  const load = (n, perSecond) => page.evaluate(([n, r]) => window.pgplay.load("primary", n, r).then(JSON.parse), [n, perSecond]);
  const lag = (node) => page.evaluate((n) => window.pgplay.lagStats(n, true).then(JSON.parse), node);
  const caughtUp = () => page.evaluate(() => {
    const s = JSON.parse(window.pgplay.status());
    return s.standby1?.replay === s.primary?.flush && s.standby2?.replay === s.primary?.flush;
  });

  await lag("standby1");
  await lag("standby2");
  const flat = await load(rows, 0);
  oursTps = rows / (flat.elapsed_ms / 1000);
  const waitStart = Date.now();
  while (!(await caughtUp()) && Date.now() - waitStart < 60000) await page.waitForTimeout(20);
  console.log(`insert:      ${rows} single-row autocommit INSERTs on the primary, 2 standbys replaying: ${flat.elapsed_ms.toFixed(0)} ms = ${oursTps.toFixed(0)} tps (wasm, Chromium); standbys caught up ${Date.now() - waitStart} ms after the last commit`);
  const kept = await page.evaluate(() => typeof window.pgplay.keptBytes === "function"
    ? ["primary", "standby1", "standby2"].map((n) => window.pgplay.keptBytes(n)) : null);
  if (kept) console.log(`kept:        the page's copy of each data directory after them (WAL segments + last checkpoint's data image): primary ${(kept[0] / 1e6).toFixed(2)} MB, standby1 ${(kept[1] / 1e6).toFixed(2)} MB, standby2 ${(kept[2] / 1e6).toFixed(2)} MB`);

  for (const rate of [1000, 10000]) {
    await page.waitForTimeout(300);
    await lag("standby1");
    await lag("standby2");
    const n = rate * 2;
    const run = await load(n, rate);
    await page.waitForTimeout(500);
    const [a, b] = [await lag("standby1"), await lag("standby2")];
    const achieved = n / (run.elapsed_ms / 1000);
    console.log(`lag:         at ${rate} commits/s (achieved ${achieved.toFixed(0)}/s, ${n} commits): commit-to-replay standby1 median ${a.p50_ms.toFixed(2)} ms p99 ${a.p99_ms.toFixed(2)} ms; standby2 median ${b.p50_ms.toFixed(2)} ms p99 ${b.p99_ms.toFixed(2)} ms (${a.count}+${b.count} commits)`);
  }

  // The UI while the primary writes thousands of records a second: frame intervals.
  const frames = await page.evaluate(async () => {
    const deltas = [];
    let last = performance.now();
    let running = true;
    const tick = (t) => {
      deltas.push(t - last);
      last = t;
      if (running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    await window.pgplay.load("primary", 10000, 5000);
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    return deltas.slice(1);
  });
  console.log(`ui:          frame interval while the primary commits 5,000/s for 2 s (WAL stream, views updating): median ${median(frames).toFixed(1)} ms, p99 ${p99(frames).toFixed(1)} ms, ${frames.length} frames`);

  await page.evaluate(() => window.pgplay.psql("primary", "CREATE TABLE rt (id int);"));
  const trips = [];
  for (let i = 0; i < 30; i++) {
    trips.push(await page.evaluate(async (i) => {
      const t0 = performance.now();
      await window.pgplay.psql("primary", `INSERT INTO rt VALUES (${i});`);
      for (;;) {
        const out = await window.pgplay.psql("standby1", `SELECT count(*) FROM rt WHERE id = ${i};`);
        if (out.includes("     1\n")) return performance.now() - t0;
      }
    }, i));
  }
  console.log(`round trip:  commit on the primary until standby1 shows it, from the page: median ${median(trips).toFixed(2)} ms, p99 ${p99(trips).toFixed(2)} ms (30 commits)`);
} finally {
  await browser.close();
  served.close();
}

const { PGlite } = await import("@electric-sql/pglite");
const pg = new PGlite();
await pg.exec("CREATE TABLE bench (id bigint, payload text)");
const started = performance.now();
for (let id = 0; id < rows; id++) {
  await pg.query(`INSERT INTO bench VALUES (${id}, 'row ${id}')`);
}
const pgliteTps = rows / ((performance.now() - started) / 1000);
await pg.close();
console.log(`pglite:      the same ${rows} INSERTs on PGlite 0.5.16 (one node, no replication, Node ${process.version}): ${pgliteTps.toFixed(0)} tps; pgplay/PGlite = ${(oursTps / pgliteTps).toFixed(2)}`);

async function gzipped(dir, pick) {
  let total = 0;
  for (const name of await readdir(dir)) {
    if (pick(name)) total += gzipSync(await readFile(join(dir, name))).length;
  }
  return total;
}
const ours = await gzipped(distDir, (n) => n.endsWith(".wasm") || n.endsWith(".js"));
const pgliteDir = resolve("node_modules/@electric-sql/pglite/dist");
const theirs = await gzipped(pgliteDir, (n) => ["pglite.wasm", "pglite.data", "index.js", "initdb.wasm"].includes(n) || /^chunk-.*\.js$/.test(n));
console.log(`size:        transfer size (gzip) of the built app, wasm + JS: pgplay ${(ours / 1e6).toFixed(2)} MB; PGlite (pglite.wasm, pglite.data, initdb.wasm, JS) ${(theirs / 1e6).toFixed(2)} MB`);
