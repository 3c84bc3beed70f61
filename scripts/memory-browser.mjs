// Memory of the browser cluster under a steady write load, in headless Chromium: the primary
// commits `--rate` single-row INSERTs a second for `--minutes`, both standbys replaying, the full
// UI rendering the stream; the table is emptied every 30 s, so what stays is WAL, queues and the
// page's lists. Once a minute it prints each worker's WebAssembly memory (it only ever grows, so
// it shows the peak), what the worker holds by kind (WAL segments written / allocated / pooled
// for reuse, commit log, events queued, lag samples), and the page's JavaScript heap.
//
// The check: after the first ten minutes (the warm-up: the first checkpoints, the first segments
// removed and reused), every sample of each worker's memory must lie within ±10% of that
// worker's mean over the samples after the warm-up. It prints PASS or FAIL and exits 1 on FAIL;
// a run of ten minutes or less has nothing to check and says so.
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
const warmUpSeconds = 10 * 60;
const tolerance = 0.1;

const mb = (bytes) => (bytes / (1024 * 1024)).toFixed(1);

/// One line per sample: wall-clock time, then per worker its memory and holdings.
function describe(elapsed, status, heap) {
  const nodes = Object.entries(status)
    .map(([name, s]) => {
      const m = s?.memory ?? {};
      return `${name} ${mb(s?.memory_bytes ?? 0)} MB (WAL ${m.wal_segments ?? "?"} seg ` +
        `${mb(m.wal_written_bytes ?? 0)}/${mb(m.wal_allocated_bytes ?? 0)}+${mb(m.wal_pooled_bytes ?? 0)} MB, ` +
        `clog ${m.clog_bytes ?? "?"} B, events ${m.events_queued ?? "?"}, lags ${m.lag_samples ?? "?"})`;
    })
    .join("; ");
  const flush = status.primary?.flush ?? "?";
  return `t=${String(Math.round(elapsed)).padStart(5)} s  ${nodes}; page JS heap ${mb(heap)} MB; primary at ${flush}`;
}

/// PASS when every worker's samples after the warm-up lie within ±10% of their mean.
function verdict(samples) {
  const settled = samples.filter((s) => s.elapsed > warmUpSeconds);
  if (settled.length < 2) {
    console.log(`check: not run (it needs samples after the first ${warmUpSeconds / 60} minutes; use --minutes 20 or more)`);
    return true;
  }
  let pass = true;
  for (const name of Object.keys(settled[0].memory)) {
    const values = settled.map((s) => s.memory[name] ?? 0);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const low = Math.min(...values);
    const high = Math.max(...values);
    const within = high <= mean * (1 + tolerance) && low >= mean * (1 - tolerance);
    pass &&= within;
    const pct = (v) => `${v >= mean ? "+" : ""}${(((v - mean) / mean) * 100).toFixed(1)}%`;
    console.log(`check: ${name} after ${warmUpSeconds / 60} min: mean ${mb(mean)} MB, ` +
      `${mb(low)}–${mb(high)} MB (${pct(low)} / ${pct(high)}) ${within ? "within" : "OUTSIDE"} ±${tolerance * 100}%`);
  }
  console.log(pass ? "PASS: every worker's memory stays within ±10% of its mean after the warm-up"
    : "FAIL: a worker's memory left ±10% of its mean after the warm-up");
  return pass;
}

const served = await serveDist(distDir);
const browser = await launchChromium();
let pass = false;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(served.url);
  await page.waitForFunction(() => window.pgplay && window.pgplay.allStreaming(), null, { timeout: 60000 });
  const started = Date.now();
  const samples = [];
  // Commits and seconds spent loading since the last printed line: the rate reached, which a
  // busy machine keeps below --rate.
  let committed = 0;
  let loading = 0;
  let printedMinute = -1;
  const sample = async () => {
    const elapsed = (Date.now() - started) / 1000;
    const { status, heap } = await page.evaluate(() => ({
      status: JSON.parse(window.pgplay.status()),
      heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    }));
    const memory = Object.fromEntries(Object.entries(status).map(([name, s]) => [name, s?.memory_bytes ?? 0]));
    samples.push({ elapsed, memory });
    const minute = Math.floor(elapsed / 60);
    if (minute > printedMinute) {
      printedMinute = minute;
      const reached = loading > 0 ? `; ${Math.round(committed / loading)} commits/s` : "";
      console.log(describe(elapsed, status, heap) + reached);
      committed = 0;
      loading = 0;
    }
  };
  console.log(`memory-browser: ${rate} commits/s for ${minutes} min, TRUNCATE every ${sliceSeconds} s`);
  await sample();
  while ((Date.now() - started) / 1000 < minutes * 60) {
    const sliceStarted = Date.now();
    await page.evaluate(([n, r]) => window.pgplay.load("primary", n, r), [rate * sliceSeconds, rate]);
    committed += rate * sliceSeconds;
    loading += (Date.now() - sliceStarted) / 1000;
    // The table's rows are data, not a leak: empty it (standbys replay that too).
    await page.evaluate(() => window.pgplay.psql("primary", "TRUNCATE bench;"));
    await sample();
  }
  pass = verdict(samples);
} finally {
  await browser.close();
  served.close();
}
process.exit(pass ? 0 : 1);
