// Where the browser cluster's time goes: Chromium's sampling profiler (CDP `Profiler.start`)
// in each node worker while the primary runs the benchmark's flat-out load, then the functions
// with the most self time per worker. Build with names kept (wasm-bindgen's output before
// wasm-opt, or Trunk's `data-keep-debug`) to see Rust names instead of wasm function indices.
//
//   node scripts/profile-browser.mjs [DIST_DIR] [--rows N] [--top N]

import { serveDist, launchChromium } from "./browser.mjs";
import { resolve } from "node:path";

const args = process.argv.slice(2);
const distDir = resolve(args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "dist");
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rows = option("--rows", 10000);
const top = option("--top", 25);

// A sampled function's part of the program, by its (demangled) name.
function groupOf(name) {
  if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") return name;
  for (const part of ["sqlparser", "pgplay_engine", "pgplay_node", "pgplay_replication", "pgplay_wal", "pgplay_psql", "pgplay_web", "dlmalloc", "serde", "postcard"]) {
    if (name.includes(part)) return part;
  }
  if (/alloc|__rdl_|__rust_/.test(name)) return "alloc (Rust)";
  if (/core|fmt/.test(name)) return "core (fmt, iterators)";
  if (/^__wbg|wasm-to-js|js-to-wasm/.test(name)) return "wasm-bindgen glue";
  return "JS and browser";
}

const served = await serveDist(distDir);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(served.url);
  await page.waitForFunction(() => window.pgplay && window.pgplay.allStreaming(), null, { timeout: 60000 });
  const cdp = await browser.newBrowserCDPSession();
  let next = 0;
  const waiting = new Map();
  cdp.on("Target.receivedMessageFromTarget", ({ message }) => {
    const m = JSON.parse(message);
    if (m.id !== undefined && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  const send = (sessionId, method, params = {}) => new Promise((done) => {
    const id = ++next;
    waiting.set(id, done);
    cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) });
  });
  const { targetInfos } = await cdp.send("Target.getTargets");
  const workers = targetInfos.filter((t) => t.type === "worker" && t.url.includes("pgplay-worker"));
  const sessions = [];
  for (const w of workers) {
    const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: w.targetId, flatten: false });
    await send(sessionId, "Profiler.enable");
    await send(sessionId, "Profiler.setSamplingInterval", { interval: 100 });
    sessions.push(sessionId);
  }
  for (const s of sessions) await send(s, "Profiler.start");
  const result = await page.evaluate((n) => window.pgplay.load("primary", n, 0), rows);
  console.log(`load: ${result}`);
  for (const [i, s] of sessions.entries()) {
    const { result: { profile } } = await send(s, "Profiler.stop");
    const self = new Map();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const dt = profile.timeDeltas;
    let total = 0;
    profile.samples.forEach((id, k) => {
      const node = byId.get(id);
      const name = node.callFrame.functionName || `(${node.callFrame.url.split("/").pop()})`;
      const d = dt[k] ?? 0;
      total += d;
      self.set(name, (self.get(name) ?? 0) + d);
    });
    console.log(`\nworker ${i} (${workers[i].targetId.slice(0, 8)}): ${(total / 1000).toFixed(0)} ms sampled`);
    const groups = new Map();
    for (const [name, us] of self) {
      const group = groupOf(name);
      groups.set(group, (groups.get(group) ?? 0) + us);
    }
    console.log("  by part: " + [...groups.entries()].sort((a, b) => b[1] - a[1])
      .map(([g, us]) => `${g} ${(100 * us / total).toFixed(1)}%`).join(", "));
    [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).forEach(([name, us]) => {
      console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${name.slice(0, 150)}`);
    });
  }
} finally {
  await browser.close();
  served.close();
}
