// End-to-end test of a failover carried to its end on the page, by accessible names: a node's
// shell ($ prompt, Enter, ↑ history), a link of the drawing opened for its details
// (pg_stat_replication and pg_stat_wal_receiver rows, cut and healed from there), then the
// primary crashed, a standby promoted from the primary's card, and the old primary rebuilt as a
// standby of the new one by the card's "Rejoin" button, whose commands show in its shell. No
// console errors allowed. Screenshots in ARTIFACT_DIR.
//
//   node tests/e2e/failover.mjs [DIST_DIR] [ARTIFACT_DIR]

import { join } from "node:path";
import { startE2e } from "./harness.mjs";

const e2e = await startE2e("failover");
const { url, artifacts, timeout, step } = e2e;

await e2e.run(async () => {
  const page = await e2e.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(url);
  await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });

  async function sql(node, text) {
    const box = page.getByLabel(`SQL for ${node}`);
    await box.fill(text);
    await box.press("Control+Enter");
  }
  const output = (node) => page.getByLabel(`psql output for ${node}`);
  const shellOutput = (node) => page.getByLabel(`Shell output on ${node}`);
  const card = (node) => page.getByRole("listitem", { name: `Node ${node}` });

  await step("a node's shell runs a command, and ↑ recalls it", async () => {
    const input = page.getByLabel("Shell for standby2");
    await input.fill("cat standby2/postgresql.auto.conf");
    await input.press("Enter");
    await shellOutput("standby2").filter({ hasText: "$ cat standby2/postgresql.auto.conf" }).waitFor({ timeout });
    await shellOutput("standby2").filter({ hasText: "primary_conninfo" }).waitFor({ timeout });
    if ((await input.inputValue()) !== "") throw new Error("the input was not cleared");
    await input.press("ArrowUp");
    const recalled = await input.inputValue();
    if (recalled !== "cat standby2/postgresql.auto.conf") throw new Error(`↑ gave ${JSON.stringify(recalled)}`);
    await input.fill("");
  });

  await step("a shell's error is PostgreSQL's tool's, and the scenario records the command", async () => {
    const input = page.getByLabel("Shell for standby2");
    await input.fill("rm -rf standby2");
    await input.press("Enter");
    await shellOutput("standby2").filter({ hasText: "its server is running" }).waitFor({ timeout });
    await page.getByLabel("Scenario script").filter({ hasText: "\\! cat standby2/postgresql.auto.conf" }).waitFor({ timeout });
  });

  await step("a link of the drawing opens its details: both ends' rows, cut and healed there", async () => {
    const drawing = page.getByRole("figure", { name: "Cluster drawing" });
    await drawing.getByRole("button", { name: /^Replication primary → standby1: streaming/ }).click();
    const details = page.getByRole("region", { name: "Link primary → standby1" });
    await details.getByLabel("pg_stat_wal_receiver row on standby1").filter({ hasText: /status\s+\| streaming/ }).waitFor({ timeout });
    await details.getByLabel("pg_stat_replication row on primary").filter({ hasText: /state\s+\| streaming/ }).waitFor({ timeout });
    await details.getByRole("button", { name: "Cut link primary to standby1" }).click();
    await details.filter({ hasText: "cut (pgplay-net partition)" }).waitFor({ timeout });
    await drawing.getByRole("button", { name: /^Replication primary → standby1: cut/ }).waitFor({ timeout });
    await page.screenshot({ path: join(artifacts, "failover-link-details.png"), fullPage: true });
    await details.getByRole("button", { name: "Heal link primary to standby1" }).click();
    await drawing.getByRole("button", { name: /^Replication primary → standby1: streaming/ }).waitFor({ timeout });
    await details.getByRole("button", { name: "Close link details" }).click();
    await details.waitFor({ state: "detached", timeout });
  });

  await step("a commit on the primary reaches both standbys", async () => {
    await sql("primary", "CREATE TABLE t (id int);");
    await output("primary").filter({ hasText: "CREATE TABLE" }).waitFor({ timeout });
    await sql("primary", "INSERT INTO t VALUES (1);");
    await output("primary").filter({ hasText: "INSERT 0 1" }).waitFor({ timeout });
    for (const node of ["standby1", "standby2"]) {
      for (let i = 0; ; i++) {
        await sql(node, "SELECT count(*) FROM t;");
        await page.waitForTimeout(150);
        if ((await output(node).textContent()).includes("     1\n(1 row)")) break;
        if (i > 100) throw new Error(await output(node).textContent());
      }
    }
  });

  let promoted = "";
  await step("the crashed primary's card offers to promote each standby, and one is promoted", async () => {
    await page.getByRole("button", { name: "Crash primary" }).click();
    const offer = page.getByRole("group", { name: "Failover from primary" });
    const first = offer.getByRole("button", { name: /^Promote standby\d in place of primary$/ }).first();
    await first.waitFor({ timeout });
    promoted = (await first.getAttribute("aria-label")).split(" ")[1];
    await first.click();
    await card(promoted).filter({ hasText: /role\s*primary/ }).waitFor({ timeout });
    await shellOutput(promoted).filter({ hasText: `$ pg_ctl -D ${promoted} promote` }).waitFor({ timeout });
    await shellOutput(promoted).filter({ hasText: "server promoted" }).waitFor({ timeout });
    return promoted;
  });

  await step("the old primary rejoins as a standby of the new one, by the commands in its shell", async () => {
    const rejoin = page.getByRole("button", { name: `Rejoin primary as a standby of ${promoted}` });
    await rejoin.click();
    await shellOutput("primary").filter({ hasText: "$ rm -rf primary" }).waitFor({ timeout });
    await shellOutput("primary").filter({ hasText: "$ pg_basebackup -h 127.0.0.1 -p" }).waitFor({ timeout });
    await shellOutput("primary").filter({ hasText: "server started" }).waitFor({ timeout });
    await card("primary").filter({ hasText: /role\s*standby/ }).waitFor({ timeout });
    await card("primary").filter({ hasText: new RegExp(`streams from\\s*${promoted}`) }).waitFor({ timeout });
    await page.getByRole("group", { name: "Failover from primary" }).waitFor({ state: "detached", timeout });
  });

  await step("a commit on the new primary reaches the old one", async () => {
    await sql(promoted, "INSERT INTO t VALUES (2);");
    await output(promoted).filter({ hasText: "INSERT 0 1" }).waitFor({ timeout });
    for (let i = 0; ; i++) {
      await sql("primary", "SELECT pg_is_in_recovery(), count(*) FROM t;");
      await page.waitForTimeout(150);
      if ((await output("primary").textContent()).includes(" t                 |     2\n(1 row)")) break;
      if (i > 100) throw new Error(await output("primary").textContent());
    }
  });
  await page.screenshot({ path: join(artifacts, "failover-rejoined.png"), fullPage: true });
  await page.close();
});
