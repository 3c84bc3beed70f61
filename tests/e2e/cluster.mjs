// End-to-end test of the browser cluster: the built page (dist/) in headless Chromium starts a
// primary and two standbys, each in its own Web Worker, joined by MessageChannels. Through the
// page's `window.pgplay` API (the same one embedded docs use) it writes on the primary, reads the
// rows on both standbys, meets the read-only error on a standby, cuts a link and heals it,
// promotes a standby and writes on it, kills workers (each node restarts from the files the page
// keeps, with crash recovery), and checks that the page logged no error. It also times
// page load to "primary + 2 standbys streaming". Screenshot in target/artifacts/.
//
//   node tests/e2e/cluster.mjs [DIST_DIR] [SCREENSHOT_PATH]

import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize, dirname, resolve } from "node:path";
import { serveDist, launchChromium } from "../../scripts/browser.mjs";

const distDir = resolve(process.argv[2] ?? "dist");
const screenshotPath = resolve(process.argv[3] ?? "target/artifacts/e2e-cluster.png");
const timeoutMs = Number(process.env.PGPLAY_E2E_TIMEOUT_MS ?? 120_000);

const served = await serveDist(distDir);
const url = served.url;

const problems = [];
const steps = [];
function check(name, ok, detail) {
  steps.push(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (!ok) problems.push(`${name}: ${detail}`);
}

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  const started = Date.now();
  await page.goto(url, { timeout: timeoutMs });
  await page.waitForFunction(() => window.pgplay && window.pgplay.allStreaming(), null, { timeout: timeoutMs });
  const streamingMs = Date.now() - started;
  steps.push(`page load to primary + 2 standbys streaming: ${streamingMs} ms`);

  const psql = (node, line) => page.evaluate(([n, l]) => window.pgplay.psql(n, l), [node, line]);
  const run = (line) => page.evaluate((l) => window.pgplay.run(l), line);
  const sleep = (ms) => page.waitForTimeout(ms);
  // Polls a psql line on a node until its output contains `wanted` (replication is asynchronous).
  async function eventually(node, line, wanted) {
    let out = "";
    for (let i = 0; i < 400; i++) {
      out = await psql(node, line);
      if (out.includes(wanted)) return out;
      await sleep(50);
    }
    return out;
  }

  let out = await psql("primary", "CREATE TABLE streamtest (x int);");
  check("CREATE TABLE on the primary", out === "CREATE TABLE\n", out);
  out = await psql("primary", "INSERT INTO streamtest VALUES (1), (2);");
  check("INSERT on the primary", out === "INSERT 0 2\n", out);
  for (const standby of ["standby1", "standby2"]) {
    out = await eventually(standby, "SELECT count(*) FROM streamtest;", "     2");
    check(`${standby} reads the rows`, out.includes("     2\n(1 row)"), out);
  }
  out = await psql("standby1", "INSERT INTO streamtest VALUES (3);");
  check("INSERT on a standby is refused", out.includes("ERROR:  cannot execute INSERT in a read-only transaction"), out);
  out = await psql("primary", "SELECT application_name, state FROM pg_stat_replication ORDER BY 1;");
  check("pg_stat_replication lists both standbys streaming",
    out.includes("standby1         | streaming") && out.includes("standby2         | streaming"), out);

  // Hostile statements end in PostgreSQL's errors inside the worker; none kills it.
  out = await psql("primary", "SELECT round(1.5, -100) AS r;");
  check("round(1.5, -100) is 0, not a trap", out.includes(" 0\n(1 row)"), out);
  out = await psql("primary", `SELECT ${Array(5000).fill("1").join("+")};`);
  check("5,000 terms: stack depth limit exceeded", out.startsWith("ERROR:  stack depth limit exceeded"), out.slice(0, 200));
  out = await psql("primary", `SELECT ${"(".repeat(20000)}1${")".repeat(20000)};`);
  check("20,000 parentheses: stack depth limit exceeded", out.startsWith("ERROR:  stack depth limit exceeded"), out.slice(0, 200));
  out = await psql("primary", `SELECT ${"(".repeat(300)}1${")".repeat(300)} AS deep;`);
  check("300 parentheses run", out.includes(" 1\n(1 row)"), out.slice(0, 200));
  await psql("primary", "CREATE TABLE a (x int);");
  await psql("primary", `INSERT INTO a VALUES ${Array.from({ length: 1000 }, (_, i) => `(${i})`).join(", ")};`);
  out = await psql("primary", "SELECT count(*) FROM a, a b, a c;");
  // The plan streams the product into the count: nothing is materialised, the answer is PostgreSQL's.
  check("a billion-row join is counted, not materialised", out.includes(" 1000000000\n(1 row)"), out);
  out = await psql("primary", "SELECT pg_is_in_recovery();");
  check("the primary's worker is alive after them", out.includes(" f\n(1 row)"), out);
  // pg_sleep costs no CPU and psql's Ctrl+C (pgplay.cancel) ends it.
  out = await page.evaluate(async () => {
    const sleeping = window.pgplay.psql("primary", "SELECT pg_sleep(1e9);");
    await new Promise((resolve) => setTimeout(resolve, 200));
    window.pgplay.cancel("primary");
    return sleeping;
  });
  check("a cancel ends pg_sleep(1e9)", out.includes("ERROR:  canceling statement due to user request"), out);
  // A statement that keeps the worker busy hears the cancel through the shared flag.
  const isolated = await page.evaluate(() => window.crossOriginIsolated);
  check("the page is cross-origin isolated (COOP and COEP headers)", isolated, String(isolated));
  out = await page.evaluate(async () => {
    const started = performance.now();
    const busy = window.pgplay.psql("primary", "SELECT count(*) FROM a JOIN a b ON true JOIN a c ON a.x + b.x + c.x < 0;");
    await new Promise((resolve) => setTimeout(resolve, 300));
    window.pgplay.cancel("primary");
    const text = await busy;
    return `${text}(after ${Math.round(performance.now() - started)} ms)`;
  });
  check("a cancel ends a busy statement", out.includes("ERROR:  canceling statement due to user request"), out);
  out = await psql("primary", "SELECT 42 AS after_cancel;");
  check("the session goes on after the cancel", out.includes("42\n(1 row)"), out);
  out = await psql("primary", "SET statement_timeout = '200ms'; SELECT pg_sleep(10);");
  check("statement_timeout ends pg_sleep(10)", out.includes("ERROR:  canceling statement due to statement timeout"), out);
  await psql("primary", "RESET statement_timeout;");

  // A partitioned link holds WAL back; healing it lets the standby catch up.
  await page.evaluate(() => window.pgplay.setLink("primary", "standby2", 0, true));
  await psql("primary", "INSERT INTO streamtest VALUES (3);");
  await eventually("standby1", "SELECT count(*) FROM streamtest;", "     3");
  out = await psql("standby2", "SELECT count(*) FROM streamtest;");
  check("a partitioned standby does not see the new row", out.includes("     2\n"), out);
  await page.evaluate(() => window.pgplay.setLink("primary", "standby2", 0, false));
  out = await eventually("standby2", "SELECT count(*) FROM streamtest;", "     3");
  check("after healing it catches up", out.includes("     3\n"), out);

  // Failover: promote standby1 and write on it.
  out = await psql("standby1", "SELECT pg_promote();");
  check("pg_promote() on standby1", out.includes(" t\n(1 row)"), out);
  out = await psql("standby1", "INSERT INTO streamtest VALUES (4);");
  check("the promoted standby takes writes", out === "INSERT 0 1\n", out);
  out = await psql("standby1", "SELECT pg_is_in_recovery(), pg_walfile_name(pg_current_wal_lsn()) LIKE '00000002%' AS tli2;");
  check("standby1 left recovery on timeline 2", out.includes(" f                 | t"), out);

  // Crash and restart a standby: it recovers and catches up.
  out = await run("pg_ctl -D standby2 -m immediate stop");
  await psql("standby1", "SELECT 1;");
  out = await run("pg_ctl -D standby2 start");
  check("pg_ctl start after a crash", out.includes("server started"), out);
  out = await eventually("standby2", "SELECT count(*) FROM streamtest;", "     3");
  check("the restarted standby answers again", out.includes("     3\n"), out);

  // A dead worker is a crashed server, not a new one: the page keeps each node's data directory
  // (its WAL as flushed, the last checkpoint's data image, its files) and a new worker starts
  // from it with crash recovery. standby2 comes back from its own files, not a base backup.
  const logged = [];
  await page.exposeFunction("pgplayLogged", (json) => logged.push(json));
  await page.evaluate(() => window.pgplay.subscribe((json) => window.pgplayLogged(json)));
  const keptBefore = await page.evaluate(() => [window.pgplay.keptBytes("primary"), window.pgplay.keptBytes("standby2")]);
  steps.push(`the page keeps ${keptBefore[0]} bytes of the primary's data directory, ${keptBefore[1]} of standby2's`);
  check("the page keeps each node's files", keptBefore.every((b) => b > 0), keptBefore);
  const streamingAgain = async (node, what) => {
    try {
      await page.waitForFunction((n) => JSON.parse(window.pgplay.status())[n]?.receiver === "streaming", node, { timeout: timeoutMs });
    } catch (error) {
      const state = await page.evaluate((n) => [window.pgplay.status(), window.pgplay.recentEvents(n).slice(-3000)], node);
      throw new Error(`${what}: ${state.join("\n")}\nlogged: ${logged.join("\n").slice(-3000)}`);
    }
  };
  const loggedBy = (node, text) => logged.some((j) => j.startsWith(`["${node}"`) && j.includes(text));
  await page.evaluate(() => window.pgplay.killWorker("standby2"));
  await streamingAgain("standby2", "standby2 was not restarted");
  out = await eventually("standby2", "SELECT count(*) FROM streamtest;", "     3");
  check("a killed standby worker is restarted from its files", out.includes("     3\n"), out);
  for (let i = 0; i < 200 && !loggedBy("standby2", "redo starts at"); i++) await sleep(50);
  check("the page says the standby's process crashed and recovers",
    loggedBy("standby2", "standby2's server process crashed (its worker failed: killed); restarting it with crash recovery"), logged.join("\n").slice(-2000));
  check("standby2 ran crash recovery (entering standby mode, redo starts at), not a base backup",
    loggedBy("standby2", "entering standby mode") && loggedBy("standby2", "redo starts at") && !loggedBy("standby2", "starting backup recovery"),
    logged.join("\n").slice(-2000));

  // The primary's worker dies: its committed rows survive, and its standby streams on from the
  // same cluster (same system identifier, no FATAL).
  out = await psql("primary", "INSERT INTO streamtest VALUES (5);");
  check("a commit just before the kill", out === "INSERT 0 1\n", out);
  await page.evaluate(() => window.pgplay.killWorker("primary"));
  out = await eventually("primary", "SELECT count(*) FROM streamtest;", "     4");
  check("the restarted primary has every committed row", out.includes("     4\n"), out);
  // The new worker's log lines come with its next batch of events.
  for (let i = 0; i < 200 && !loggedBy("primary", "redo done at"); i++) await sleep(50);
  check("the primary ran crash recovery",
    loggedBy("primary", "primary's server process crashed (its worker failed: killed); restarting it with crash recovery")
      && loggedBy("primary", "database system was not properly shut down; automatic recovery in progress")
      && loggedBy("primary", "redo done at"),
    logged.join("\n").slice(-2000));
  out = await psql("primary", "INSERT INTO streamtest VALUES (6);");
  check("the restarted primary takes writes", out === "INSERT 0 1\n", out);
  await streamingAgain("standby2", "standby2 did not stream from the restarted primary");
  out = await eventually("standby2", "SELECT count(*) FROM streamtest;", "     5");
  check("standby2 streams from the restarted primary", out.includes("     5\n"), out);
  check("no system identifier FATAL", !logged.some((j) => j.includes("database system identifier differs")), logged.join("\n").slice(-2000));

  // A page runs at most 8 nodes: base backups past that are refused with a clear message.
  let refused = "";
  for (let n = 3; n <= 9 && !refused; n++) {
    try {
      await run(`pg_basebackup -h 127.0.0.1 -p 5433 -D standby${n} -R`);
    } catch (error) {
      refused = String(error);
    }
  }
  check("the ninth node is refused", refused.includes("pgplay runs at most 8 nodes in a page"), refused);

  await mkdir(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
} catch (error) {
  problems.push(String(error));
} finally {
  await browser.close();
  served.close();
}

console.log(steps.join("\n"));
if (problems.length > 0) {
  console.error(`browser cluster e2e FAILED on ${url}:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`browser cluster e2e ok; screenshot ${screenshotPath}`);
