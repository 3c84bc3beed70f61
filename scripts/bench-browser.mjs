// The browser cluster's benchmark, on the built page (dist/) in headless Chromium:
//   - page load to "primary + 2 standbys streaming" (median of 3 loads);
//   - single-row autocommit INSERT throughput on the primary while both standbys replay, and the
//     time until both replayed the last commit (checked: their row counts and positions);
//   - commit-to-replay lag on the standbys (median, p99) at 1,000 and 10,000 commits/s;
//   - a remote_apply commit timed inside the primary's worker until standby1 applied it;
//   - the round trip of a commit until a standby shows it (page -> primary -> standby -> page);
// then the same INSERT workload on PGlite (one node, no replication, in Node) and on a real
// PostgreSQL 15 cluster (scripts/bench-postgres.sh: primary + 2 streaming standbys, pgbench),
// the transfer size (gzip) of both builds, and the four targets with ratios.
//
//   node scripts/bench-browser.mjs [DIST_DIR] [--rows N] [--no-postgres]

import { execFileSync } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { serveDist, launchChromium } from "./browser.mjs";

const args = process.argv.slice(2);
const distDir = resolve(args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "dist");
const rowsIndex = args.indexOf("--rows");
const rows = rowsIndex >= 0 ? Number(args[rowsIndex + 1]) : 10000;
const withPostgres = !args.includes("--no-postgres");
const probeCommits = 1000;

const served = await serveDist(distDir);
const url = served.url;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.round((xs.length - 1) * 0.99))];

const browser = await launchChromium();
let oursTps = 0;
let oursReplicatedTps = 0;
let oursLoad = 0;
let oursSync = null;
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
  oursLoad = median(loads);
  console.log(`load:        page load to primary + 2 standbys streaming: median ${oursLoad} ms (${loads.join(", ")} ms)`);

  const load = (n, perSecond) => page.evaluate(([n, r]) => window.pgplay.load("primary", n, r).then(JSON.parse), [n, perSecond]);
  const lag = (node) => page.evaluate((n) => window.pgplay.lagStats(n, true).then(JSON.parse), node);
  const caughtUp = () => page.evaluate(() => {
    const s = JSON.parse(window.pgplay.status());
    return s.standby1?.replay === s.primary?.flush && s.standby2?.replay === s.primary?.flush;
  });
  const count = (node) => page.evaluate((n) => window.pgplay.psql(n, "SELECT count(*) FROM bench;"), node)
    .then((out) => Number(out.split("\n")[2]));
  // Every standby must have replayed every row the primary committed: positions and row counts.
  const checkReplicated = async (what) => {
    const waitStart = Date.now();
    while (!(await caughtUp())) {
      if (Date.now() - waitStart > 60000) throw new Error(`${what}: the standbys did not replay everything within 60 s`);
      await page.waitForTimeout(10);
    }
    const counts = [await count("primary"), await count("standby1"), await count("standby2")];
    if (counts[1] !== counts[0] || counts[2] !== counts[0]) {
      throw new Error(`${what}: rows in bench on primary, standby1, standby2: ${counts.join(", ")}`);
    }
    return counts[0];
  };

  await lag("standby1");
  await lag("standby2");
  const flat = await load(rows, 0);
  if (flat.standbys !== 2) throw new Error(`the load saw ${flat.standbys} streaming standbys, not 2`);
  oursTps = rows / (flat.elapsed_ms / 1000);
  oursReplicatedTps = rows / (flat.replicated_ms / 1000);
  const replicatedRows = await checkReplicated("insert");
  if (replicatedRows !== rows) throw new Error(`bench has ${replicatedRows} rows, not ${rows}`);
  console.log(`insert:      ${rows} single-row autocommit INSERTs on the primary, 2 standbys replaying: ${flat.elapsed_ms.toFixed(0)} ms = ${oursTps.toFixed(0)} tps (wasm, Chromium); both standbys replayed the last commit ${flat.replicated_ms.toFixed(0)} ms after the first = ${oursReplicatedTps.toFixed(0)} tps replicated; ${rows} rows on each standby`);
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
    if (a.count < n || b.count < n) throw new Error(`lag at ${rate}/s: the standbys replayed ${a.count} and ${b.count} of ${n} commits`);
  }
  await checkReplicated("lag runs");

  // remote_apply: each commit waits until standby1 applied it, timed inside the primary's worker.
  for (const line of ["ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)';", "SELECT pg_reload_conf();"]) {
    await page.evaluate((l) => window.pgplay.psql("primary", l), line);
  }
  oursSync = await page.evaluate((n) => window.pgplay.syncProbe("primary", n).then(JSON.parse), probeCommits);
  if (oursSync.commits !== probeCommits) throw new Error(`the remote_apply probe timed ${oursSync.commits} commits`);
  const probed = await page.evaluate(() => window.pgplay.psql("standby1", "SELECT count(*) FROM probe;"));
  if (Number(probed.split("\n")[2]) < probeCommits) throw new Error(`standby1 has not applied every probe commit: ${probed}`);
  for (const line of ["ALTER SYSTEM RESET synchronous_standby_names;", "SELECT pg_reload_conf();"]) {
    await page.evaluate((l) => window.pgplay.psql("primary", l), line);
  }
  console.log(`remote_apply: commit with synchronous_commit = remote_apply until standby1 applied it, timed in the primary's worker: median ${oursSync.p50_ms.toFixed(3)} ms, p99 ${oursSync.p99_ms.toFixed(3)} ms (${oursSync.commits} commits)`);

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

let postgres = null;
if (withPostgres) {
  const out = execFileSync("bash", [fileURLToPath(new URL("bench-postgres.sh", import.meta.url)), "--rows", String(rows)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trim().split("\n");
  for (const line of lines.slice(0, -1)) console.log(line);
  postgres = JSON.parse(lines[lines.length - 1]);
}

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

// The four targets, each with the same run's yardsticks.
const vsPg = (ours, theirs, unit, digits = 0) => (postgres ? `; PostgreSQL ${postgres.version} ${theirs.toFixed(digits)} ${unit}, pgplay/PostgreSQL = ${(ours / theirs).toFixed(2)}` : "");
const mark = (ok) => (ok ? "met" : "NOT met");
console.log(`target 1:    size ${(ours / 1e6).toFixed(2)} MB gzip <= 1 MB: ${mark(ours <= 1e6)}; PGlite ${(theirs / 1e6).toFixed(2)} MB, pgplay/PGlite = ${(ours / theirs).toFixed(2)}`);
console.log(`target 2:    ${oursTps.toFixed(0)} INSERTs/s with 2 standbys replaying >= 50,000: ${mark(oursTps >= 50000)} (${oursReplicatedTps.toFixed(0)}/s until both replayed); PGlite ${pgliteTps.toFixed(0)}/s, pgplay/PGlite = ${(oursTps / pgliteTps).toFixed(2)}${vsPg(oursTps, postgres?.tps, "tps")}`);
console.log(`target 3:    remote_apply commit median ${oursSync.p50_ms.toFixed(3)} ms <= 0.2 ms: ${mark(oursSync.p50_ms <= 0.2)}${vsPg(oursSync.p50_ms, postgres?.sync_p50_ms, "ms (pgbench, client round trip included)", 3)}`);
console.log(`target 4:    page load to 3 nodes streaming, median ${oursLoad} ms <= 300 ms: ${mark(oursLoad <= 300)}${vsPg(oursLoad, postgres?.start_ms, "ms to initdb and stream 2 standbys")}`);
