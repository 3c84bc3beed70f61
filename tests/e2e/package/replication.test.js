// A test another project could write with pgplay's package, headlessly: start a cluster, write
// on the primary, read it on a standby, meet the standby's read-only error with its SQLSTATE,
// promote the standby and write on it. tests/e2e/package.mjs runs it in headless Chromium on a
// page served from another origin than the playground's.

import { Cluster, PgplayError } from "./pgplay/index.js";

function assert(condition, what) {
  if (!condition) throw new Error(`assertion failed: ${what}`);
}

/// Polls `check` until it is true (a standby replays asynchronously); an error counts as not
/// yet (the table may not have reached the standby).
async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function replicationTest(src) {
  const log = [];
  const cluster = await Cluster.start({ preset: "default", src });
  try {
    log.push(`started: ${cluster.nodes.join(", ")}`);
    assert(["primary", "standby1", "standby2"].every((n) => cluster.nodes.includes(n)), "three nodes");
    const logLines = [];
    const off = cluster.subscribe("log", (node, line) => logLines.push(`${node}: ${line}`));

    // Calls made together run one after the other (their lines would mix in psql's buffer).
    const [one, two] = await Promise.all([
      cluster.psql("primary", "SELECT 1\n  AS one;"),
      cluster.psql("primary", "SELECT 2\n  AS two;"),
    ]);
    assert(one.includes(" one \n") && !one.includes("two") && two.includes(" two \n"), `together: ${one} / ${two}`);
    assert((await cluster.psql("primary", "CREATE TABLE accounts (id int, owner text);")) === "CREATE TABLE\n", "CREATE TABLE");
    assert((await cluster.psql("primary", "INSERT INTO accounts VALUES (1, 'ada');")) === "INSERT 0 1\n", "INSERT on the primary");
    log.push("wrote on the primary");
    await until("standby1 replays the row", async () =>
      (await cluster.psql("standby1", "SELECT owner FROM accounts;")).includes(" ada\n"));
    log.push("standby1 has the row");

    let refused = null;
    try {
      await cluster.psql("standby1", "INSERT INTO accounts VALUES (2, 'bob');");
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof PgplayError, `a PgplayError, not ${refused}`);
    assert(refused.sqlstate === "25006", `SQLSTATE 25006, not ${refused.sqlstate}`);
    assert(refused.severity === "ERROR", `severity ERROR, not ${refused.severity}`);
    assert(refused.message === "cannot execute INSERT in a read-only transaction", `message: ${refused.message}`);
    assert(refused.output.startsWith("ERROR:  cannot execute INSERT in a read-only transaction"), `output: ${refused.output}`);
    log.push(`standby1 refused: ${refused.sqlstate} ${refused.message}`);

    let badCommand = null;
    await cluster.run("pg_ctl -D nowhere promote").catch((error) => (badCommand = error));
    assert(badCommand instanceof Error && !(badCommand instanceof PgplayError), "a failing command rejects");

    const promoted = await cluster.run("pg_ctl -D standby1 promote");
    assert(promoted.includes("server promoted"), `pg_ctl promote: ${promoted}`);
    await until("standby1 leaves recovery", async () =>
      (await cluster.psql("standby1", "SELECT pg_is_in_recovery();")).includes(" f\n"));
    assert((await cluster.psql("standby1", "INSERT INTO accounts VALUES (2, 'bob');")) === "INSERT 0 1\n", "INSERT on the promoted standby");
    log.push("standby1 promoted and took a write");
    const status = await cluster.status();
    assert(status.standby1?.role === "primary" && status.standby1.timeline === 2, `status: ${JSON.stringify(status.standby1)}`);

    await until("a server log line arrives", async () => logLines.length > 0);
    off();
    log.push(`log lines heard: ${logLines.length}`);
  } finally {
    cluster.close();
  }
  assert(!document.querySelector('iframe[title="pgplay cluster"]'), "close() removes the iframe");
  let closed = null;
  await cluster.psql("primary", "SELECT 1;").catch((error) => (closed = error));
  assert(closed?.message === "pgplay: the cluster was closed", `after close: ${closed}`);
  log.push("closed");
  return log;
}

/// The <pgplay-console> on the page: its Cluster runs SQL that shows in the element's console.
export async function elementTest() {
  const element = document.querySelector("pgplay-console");
  const cluster = await element.cluster;
  const printed = await cluster.psql("primary", "SELECT 6 * 7 AS answer;");
  assert(printed.includes(" 42\n"), `the element's cluster: ${printed}`);
  return printed;
}
