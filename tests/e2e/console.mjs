// End-to-end test of the page's psql console in headless Chromium on a phone-sized page
// (390×844), driven with the keyboard as a psql user would, found by accessible names: Enter
// starts a new line under psql's continuation prompt (postgres-#, postgres(#) until the statement
// ends with `;`, then runs it; ↑ recalls the history; Tab completes keywords and the node's tables;
// `\timing` prints `Time:` lines. A lesson step typed in the console ticks as done and the lesson
// moves on to the next step. No console errors allowed. Screenshot in target/artifacts/.
//
//   node tests/e2e/console.mjs [DIST_DIR] [ARTIFACT_DIR]

import { join } from "node:path";
import { startE2e } from "./harness.mjs";

const e2e = await startE2e("console");
const { url, artifacts, timeout, step } = e2e;
await e2e.run(async () => {
  const page = await e2e.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${url}?lesson=003`);
  await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
  const box = page.getByLabel("SQL for primary");
  const prompt = page.getByLabel("psql prompt for primary");
  const output = page.getByLabel("psql output for primary");

  await step("Enter without ';' continues the statement under postgres-#", async () => {
    await box.click();
    await page.keyboard.type("CREATE TABLE lesson");
    await page.keyboard.press("Enter");
    await page.keyboard.type("(x int)");
    const value = await box.inputValue();
    if (value !== "CREATE TABLE lesson\n(x int)") throw new Error(`input is ${JSON.stringify(value)}`);
    const shown = await prompt.textContent();
    if (shown !== "postgres=# \npostgres-# ") throw new Error(`prompt is ${JSON.stringify(shown)}`);
  });
  await step("Enter after ';' runs it", async () => {
    await page.keyboard.type(";");
    await page.keyboard.press("Enter");
    await output.filter({ hasText: "CREATE TABLE" }).waitFor({ timeout });
    if ((await box.inputValue()) !== "") throw new Error("the input was not cleared");
  });
  await step("the lesson step typed by hand is done and the lesson moves on", async () => {
    const first = page.getByRole("list", { name: "Lesson steps" }).getByRole("listitem", { name: "Step 1" });
    await first.getByRole("status").filter({ hasText: "done" }).waitFor({ timeout });
    await page.getByRole("button", { name: "Run steps 2 to 6" }).waitFor({ timeout });
  });
  await step("inside a parenthesis the prompt is postgres(#", async () => {
    await box.fill("SELECT (");
    await box.press("Enter");
    const shown = await prompt.textContent();
    if (!shown.endsWith("postgres(# ")) throw new Error(`prompt is ${JSON.stringify(shown)}`);
    await page.keyboard.type("41 + 1) AS answer;");
    await page.keyboard.press("Enter");
    await output.filter({ hasText: "42\n(1 row)" }).waitFor({ timeout });
  });
  await step("↑ recalls the last statement", async () => {
    await page.keyboard.press("ArrowUp");
    const value = await box.inputValue();
    if (value !== "SELECT (\n41 + 1) AS answer;") throw new Error(`input is ${JSON.stringify(value)}`);
    await box.fill("");
  });
  await step("Tab completes a keyword and a table of the node", async () => {
    await box.fill("SEL");
    await box.press("Tab");
    if ((await box.inputValue()) !== "SELECT ") throw new Error(`input is ${JSON.stringify(await box.inputValue())}`);
    // The node's names are read when the console gets focus; they may still be on their way.
    for (let i = 0; ; i++) {
      await box.fill("SELECT * FROM less");
      await box.press("Tab");
      if ((await box.inputValue()) === "SELECT * FROM lesson ") break;
      if (i === 50) throw new Error(`input is ${JSON.stringify(await box.inputValue())}`);
      await box.blur();
      await page.waitForTimeout(200);
      await box.focus();
    }
    await box.fill("SELECT pg_last_wal_re");
    await box.press("Tab");
    await page.getByLabel("Completions for primary").filter({ hasText: "pg_last_wal_replay_lsn()" }).waitFor({ timeout });
    await box.fill("");
  });
  await step("\\timing prints Time: after each statement", async () => {
    await box.fill("\\timing");
    await box.press("Enter");
    await output.filter({ hasText: "Timing is on." }).waitFor({ timeout });
    await box.fill("SELECT count(*) FROM lesson;");
    await box.press("Enter");
    await output.filter({ hasText: /Time: \d+\.\d{3} ms/ }).waitFor({ timeout });
  });
  await step("the prompt marks a transaction block (=*#) and a failed one (=!#), as psql's does", async () => {
    const promptIs = async (want) => {
      for (let i = 0; (await prompt.textContent()) !== want; i++) {
        if (i === 50) throw new Error(`prompt is ${JSON.stringify(await prompt.textContent())}, want ${JSON.stringify(want)}`);
        await page.waitForTimeout(100);
      }
    };
    await box.fill("BEGIN;");
    await box.press("Enter");
    await promptIs("postgres=*# ");
    await box.fill("SELECT 1/0;");
    await box.press("Enter");
    await output.filter({ hasText: "division by zero" }).waitFor({ timeout });
    await promptIs("postgres=!# ");
    await box.fill("ROLLBACK;");
    await box.press("Enter");
    await promptIs("postgres=# ");
  });
  await page.getByRole("group", { name: "Console for primary" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, "console-phone.png") });
});
