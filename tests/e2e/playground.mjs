// End-to-end test of the playground UI in headless Chromium (Playwright), driven the way a learner
// uses it and found by accessible names, never CSS paths. It follows seed 003's flow: create a
// table on the primary, see it on a standby, INSERT on the standby gets the read-only error; then
// promote a standby and write on it; crash and restart a standby and see it catch up; make a
// standby synchronous, stop it and cancel the commit that waits for it; inspect a WAL record; thousands of records keep the WAL list small (virtualised). Then every guided lesson
// (one per seed tutorial) runs on a fresh page, and a lesson's scenario link replays it on another.
// The cluster drawing: its nodes and links by accessible name, the status sentence for a cut link
// and a split brain. No console errors allowed. Screenshots in target/artifacts/.
//
//   node tests/e2e/playground.mjs [DIST_DIR] [ARTIFACT_DIR]

import { join } from "node:path";
import { startE2e } from "./harness.mjs";

const e2e = await startE2e("playground");
const { url, artifacts, timeout, browser, problems, step } = e2e;

await e2e.run(async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await e2e.newPage({ viewport: { width: 1400, height: 1000 }, colorScheme: scheme });
    await page.goto(url);
    await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
    if (scheme === "dark") {
      // The stream starts with the cluster, not with the page's subscription.
      await page.getByRole("list", { name: "WAL records" }).getByRole("button").filter({ hasText: "CHECKPOINT_ONLINE" }).first().waitFor({ timeout });
      await page.screenshot({ path: join(artifacts, "playground-dark.png"), fullPage: true });
      await page.close();
      continue;
    }
    // Runs SQL in a node's console with the keyboard, as a learner would.
    async function sql(node, text) {
      const box = page.getByLabel(`SQL for ${node}`);
      await box.fill(text);
      await box.press("Control+Enter");
    }
    const output = (node) => page.getByLabel(`psql output for ${node}`);

    await step("create a table on the primary and insert", async () => {
      await sql("primary", "CREATE TABLE streamtest (x int);");
      await output("primary").filter({ hasText: "CREATE TABLE" }).waitFor({ timeout });
      await sql("primary", "INSERT INTO streamtest VALUES (1);");
      await output("primary").filter({ hasText: "INSERT 0 1" }).waitFor({ timeout });
    });
    await step("the row is on standby1", async () => {
      for (let i = 0; i < 200; i++) {
        await sql("standby1", "SELECT count(*) FROM streamtest;");
        await page.waitForTimeout(100);
        if ((await output("standby1").textContent()).includes("     1\n(1 row)")) return;
      }
      throw new Error(await output("standby1").textContent());
    });
    await step("INSERT on standby1 gets the read-only error", async () => {
      await sql("standby1", "INSERT INTO streamtest VALUES (2);");
      await output("standby1").filter({ hasText: "ERROR:  cannot execute INSERT in a read-only transaction" }).waitFor({ timeout });
    });
    await step("the WAL stream shows the INSERT and a record can be inspected", async () => {
      const record = page.getByRole("list", { name: "WAL records" }).getByRole("button").filter({ hasText: "INSERT" }).first();
      await record.waitFor({ timeout });
      await record.click();
      await page.getByRole("region", { name: "Selected WAL record" }).filter({ hasText: "INSERT INTO streamtest" }).waitFor({ timeout });
    });
    await step("thousands of WAL records: only the rows in view are rendered", async () => {
      await page.evaluate(() => window.pgplay.load("primary", 3000, 0));
      const list = page.getByRole("list", { name: "WAL records" });
      // Bursts beyond 1,000 records per 50 ms batch are counted, not shown; over a thousand remain.
      await page.getByText(/ [1-9]\d{3} records \(newest first/).waitFor({ timeout });
      const rendered = await list.getByRole("listitem").count();
      if (rendered > 60) throw new Error(`${rendered} rows rendered`);
      // Scrolled to the bottom, the oldest records (the cluster's first checkpoints) are there.
      await list.evaluate((el) => { el.parentElement.scrollTop = el.parentElement.scrollHeight; });
      await list.getByRole("button").filter({ hasText: "CHECKPOINT_ONLINE" }).first().waitFor({ timeout });
      await list.evaluate((el) => { el.parentElement.scrollTop = 0; });
    });
    await page.screenshot({ path: join(artifacts, "playground.png"), fullPage: true });
    await step("pg_stat_wal_receiver, link lag and a slowed link are shown", async () => {
      await page.getByLabel("pg_stat_wal_receiver on standby1").filter({ hasText: "streaming" }).waitFor({ timeout });
      await page.getByRole("listitem", { name: "Node standby1" }).filter({ hasText: "link lag" }).waitFor({ timeout });
      await page.getByRole("button", { name: "Slow link primary to standby1" }).click();
      await page.getByRole("button", { name: "Speed up link primary to standby1" }).click();
      await page.getByRole("button", { name: "Slow link primary to standby1" }).waitFor({ timeout });
      // Link faults are commands too, so the scenario can replay them.
      await page.getByLabel("Scenario script").filter({ hasText: "\\! pgplay-net delay primary standby1 200" }).waitFor({ timeout });
    });
    await step("the cluster drawing names every node and link, and a cut link is drawn and said", async () => {
      const drawing = page.getByRole("figure", { name: "Cluster drawing" });
      await drawing.getByRole("button", { name: /^primary: primary, timeline 1, running; write \d+\/[0-9A-F]+, flush / }).waitFor({ timeout });
      await drawing.getByRole("button", { name: /^standby2: standby, timeline 1, streaming; .*replay / }).waitFor({ timeout });
      await drawing.getByRole("button", { name: /^Replication primary → standby2: streaming, async, lag \d+/ }).waitFor({ timeout });
      await page.getByRole("button", { name: "Cut link primary to standby1" }).click();
      await page.getByRole("status").filter({ hasText: "link primary → standby1 is cut" }).waitFor({ timeout });
      await drawing.getByRole("button", { name: /^Replication primary → standby1: cut/ }).waitFor({ timeout });
      await page.getByRole("button", { name: "Heal link primary to standby1" }).click();
      await page.getByRole("status").filter({ hasText: "Streaming: every standby receives WAL from its upstream." }).waitFor({ timeout });
      await drawing.getByRole("button", { name: /^Replication primary → standby1: streaming/ }).waitFor({ timeout });
      // A node in the drawing opens its card.
      await drawing.getByRole("button", { name: /^standby1: / }).click();
      const focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
      if (focused !== "Node standby1") throw new Error(`focus on ${focused}`);
    });
    await step("promote standby1 and write on it", async () => {
      await page.getByRole("button", { name: "Promote standby1" }).click();
      await page.getByRole("listitem", { name: "Node standby1" }).filter({ hasText: "primary" }).waitFor({ timeout });
      await sql("standby1", "INSERT INTO streamtest VALUES (2);");
      await output("standby1").filter({ hasText: "INSERT 0 1" }).waitFor({ timeout });
    });
    await step("two primaries: the status says split brain and a banner warns", async () => {
      await page.getByRole("status").filter({ hasText: "2 nodes accept writes: split brain" }).waitFor({ timeout });
      await page.getByRole("alert").filter({ hasText: "Split brain: primary and standby1 both accept writes" }).waitFor({ timeout });
      await page.getByRole("figure", { name: "Cluster drawing" }).getByRole("button", { name: /^standby1: primary, timeline 2, running/ }).waitFor({ timeout });
    });
    await step("crash standby2, restart it, and it catches up", async () => {
      await page.getByRole("button", { name: "Crash standby2" }).click();
      await page.getByRole("button", { name: "Start standby2" }).click();
      await sql("primary", "INSERT INTO streamtest VALUES (3);");
      for (let i = 0; i < 200; i++) {
        await sql("standby2", "SELECT count(*) FROM streamtest;");
        await page.waitForTimeout(100);
        if ((await output("standby2").textContent()).includes("     2\n(1 row)")) return;
      }
      throw new Error(await output("standby2").textContent());
    });
    await step("synchronous replication: standby2 is sync, a commit waits when it stops, Cancel warns", async () => {
      await sql("primary", "ALTER SYSTEM SET synchronous_standby_names = 'standby2';");
      await output("primary").filter({ hasText: "ALTER SYSTEM" }).waitFor({ timeout });
      await sql("primary", "SELECT pg_reload_conf();");
      await page.getByRole("listitem", { name: "Node standby2" }).filter({ hasText: /sync state\s*sync/ }).waitFor({ timeout });
      await page.getByRole("button", { name: "Stop standby2" }).click();
      await page.getByRole("button", { name: "Start standby2" }).waitFor({ timeout });
      await sql("primary", "INSERT INTO streamtest VALUES (4);");
      await page.getByRole("button", { name: "Cancel query on primary" }).click();
      await output("primary").filter({ hasText: "WARNING:  canceling wait for synchronous replication due to user request" }).waitFor({ timeout });
      await output("primary").filter({ hasText: "DETAIL:  The transaction has already committed locally" }).waitFor({ timeout });
      await page.getByRole("button", { name: "Cancel query on primary" }).waitFor({ state: "detached", timeout });
      await page.getByRole("button", { name: "Start standby2" }).click();
      await sql("primary", "ALTER SYSTEM RESET synchronous_standby_names;");
      await sql("primary", "SELECT pg_reload_conf();");
      await page.getByRole("listitem", { name: "Node standby2" }).filter({ hasText: /sync state\s*async/ }).waitFor({ timeout });
    });
    await step("a replication slot made in the console shows in pg_replication_slots", async () => {
      await sql("primary", "SELECT * FROM pg_create_physical_replication_slot('standby2_slot');");
      await output("primary").filter({ hasText: "standby2_slot |" }).waitFor({ timeout });
      await page.getByLabel("pg_replication_slots on primary").filter({ hasText: "standby2_slot" }).waitFor({ timeout });
      await sql("primary", "SELECT pg_drop_replication_slot('standby2_slot');");
      await page.getByLabel("pg_replication_slots on primary").waitFor({ state: "detached", timeout });
    });
    await step("pg_stat_replication and the server log are shown", async () => {
      await page.getByRole("table", { name: "pg_stat_replication" }).filter({ hasText: "standby2" }).waitFor({ timeout });
      await page.getByRole("tablist", { name: "Server log of" }).getByRole("tab", { name: "standby1" }).click();
      await page.getByLabel("Server log of standby1").filter({ hasText: "selected new timeline ID: 2" }).waitFor({ timeout });
    });
    await step("edit postgresql.conf, reload, and the setting changes", async () => {
      await page.getByRole("tablist", { name: "Node to configure" }).getByRole("tab", { name: "primary" }).click();
      await page.getByRole("tablist", { name: "File to edit" }).getByRole("tab", { name: "postgresql.conf" }).click();
      const editor = page.getByRole("textbox", { name: "primary/postgresql.conf", exact: true });
      await page.getByLabel("Configuration status").filter({ hasText: "primary/postgresql.conf loaded" }).waitFor({ timeout });
      await editor.fill((await editor.inputValue()) + "work_mem = '8MB'\n");
      await page.getByRole("button", { name: "Save primary/postgresql.conf" }).click();
      await page.getByLabel("Configuration status").filter({ hasText: "saved" }).waitFor({ timeout });
      // The save is a command, so the scenario replays it.
      await page.getByLabel("Scenario script").filter({ hasText: "work_mem = '\\''8MB'\\'''" }).waitFor({ timeout });
      await page.getByRole("button", { name: "Reload primary" }).click();
      await page.getByLabel("Configuration status").filter({ hasText: "server signaled" }).waitFor({ timeout });
      await sql("primary", "SHOW work_mem;");
      await output("primary").filter({ hasText: "8MB" }).waitFor({ timeout });
    });
    await page.screenshot({ path: join(artifacts, "playground-after-failover.png"), fullPage: true });
    await page.close();

    // The guided lesson of seed 003 (the page's default), step by step on a fresh cluster.
    const lesson = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    lesson.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await lesson.goto(url);
    await lesson.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
    await step("the lesson's six steps all check out", async () => {
      const steps = lesson.getByRole("list", { name: "Lesson steps" });
      for (let n = 1; n <= 6; n++) {
        const item = steps.getByRole("listitem", { name: `Step ${n}`, exact: true });
        await item.getByRole("button", { name: `Run step ${n}` }).click();
        await item.getByRole("status").waitFor({ timeout });
        const verdict = await item.getByRole("status").textContent();
        if (!verdict.includes("done")) throw new Error(`step ${n}: ${verdict}: ${await item.textContent()}`);
      }
    });
    // What the lesson ran is a scenario; its link replays it on a fresh cluster.
    let link = "";
    await step("the scenario link replays the lesson on a fresh cluster", async () => {
      await lesson.getByLabel("Scenario script").filter({ hasText: "\\! pg_ctl -D standby1 promote" }).waitFor({ timeout });
      await lesson.getByRole("button", { name: "Copy a link to this scenario" }).click();
      link = await lesson.getByRole("textbox", { name: "Scenario link" }).inputValue();
      if (!link.includes("#script=")) throw new Error(link);
    });
    await lesson.close();
    if (link) {
      const replay = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      replay.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      await replay.goto(link);
      await step("the replayed scenario ends with standby1 promoted and written", async () => {
        await replay.getByLabel("Scenario status").filter({ hasText: /Replayed the linked scenario: \d+ steps\./ }).waitFor({ timeout });
        await replay.getByLabel("psql output for standby1").filter({ hasText: "cannot execute INSERT in a read-only transaction" }).waitFor({ timeout });
        await replay.getByLabel("psql output for standby1").filter({ hasText: "INSERT 0 1" }).waitFor({ timeout });
        await replay.getByRole("listitem", { name: "Node standby1" }).filter({ hasText: "primary" }).waitFor({ timeout });
      });
      await replay.close();
    }
    // The synchronous preset: standby1 is the synchronous standby from the start.
    {
      const sync = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      sync.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      await sync.goto(`${url}?preset=synchronous`);
      await step("?preset=synchronous: standby1 is sync, standby2 potential", async () => {
        await sync.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
        await sync.getByRole("listitem", { name: "Node standby1" }).filter({ hasText: /sync state\s*sync/ }).waitFor({ timeout });
        await sync.getByRole("listitem", { name: "Node standby2" }).filter({ hasText: /sync state\s*potential/ }).waitFor({ timeout });
      });
      await step("the sync buttons say their SQL and switch a standby", async () => {
        await sync.getByRole("button", { name: "Make standby1 asynchronous" }).click();
        await sync.getByRole("listitem", { name: "Node standby1" }).filter({ hasText: /sync state\s*async/ }).waitFor({ timeout });
        await sync.getByRole("button", { name: "Make standby2 synchronous" }).click();
        await sync.getByRole("listitem", { name: "Node standby2" }).filter({ hasText: /sync state\s*sync/ }).waitFor({ timeout });
        await sync.getByLabel("psql output for primary").filter({ hasText: "synchronous_standby_names = 'standby2'" }).waitFor({ timeout });
      });
      await sync.close();
    }
    // Every other seed tutorial's lesson, run whole on its own fresh cluster.
    for (const id of ["000", "001", "002", "004"]) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      await page.goto(`${url}?lesson=${id}`);
      await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
      await step(`lesson ${id}: every step checks out`, async () => {
        const steps = page.getByRole("list", { name: "Lesson steps" }).getByRole("listitem");
        const count = await steps.count();
        await page.getByRole("button", { name: "Run all steps" }).click();
        const last = steps.nth(count - 1).getByRole("status");
        const failed = page.getByRole("list", { name: "Lesson steps" }).getByRole("status").filter({ hasText: "not as expected" });
        await Promise.race([last.filter({ hasText: "done" }).waitFor({ timeout }), failed.waitFor({ timeout })]);
        if (await failed.count()) throw new Error(await failed.first().locator("xpath=..").textContent());
      });
      if (id === "000") {
        await step("lesson 000's standby3 (application_name walreceiver) shows its link lag", async () => {
          await page.getByRole("listitem", { name: "Node standby3" }).filter({ hasText: "link lag" }).waitFor({ timeout });
        });
      }
      if (id === "002") await page.screenshot({ path: join(artifacts, "lesson-002.png"), fullPage: true });
      await page.close();
    }
  }
});
