// Makes the README's screenshots of synchronous replication: the synchronous preset with
// standby1 sync and standby2 potential, then both stopped and a commit waiting for them,
// with its Cancel button. Run after `trunk build --release`:
//
//   node scripts/docs-screenshots.mjs [DIST_DIR] [OUT_DIR]

import { resolve, join } from "node:path";
import { serveDist, launchChromium } from "./browser.mjs";

const dist = resolve(process.argv[2] ?? "dist");
const out = resolve(process.argv[3] ?? "docs");
const timeout = 30_000;
const served = await serveDist(dist);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(`${served.url}?preset=synchronous`);
  await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
  async function sql(node, text) {
    const box = page.getByLabel(`SQL for ${node}`);
    await box.fill(text);
    await box.press("Control+Enter");
    await page.waitForTimeout(400);
  }
  await sql("primary", "SELECT * FROM pg_create_physical_replication_slot('standby1_slot', true);");
  await sql("primary", "CREATE TABLE orders (id int);");
  await page.getByRole("listitem", { name: "Node standby1" }).filter({ hasText: /sync state\s*sync/ }).waitFor({ timeout });
  await page.getByRole("listitem", { name: "Node standby2" }).filter({ hasText: /sync state\s*potential/ }).waitFor({ timeout });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, "playground-sync.png"), fullPage: false });
  await page.getByRole("button", { name: "Stop standby1" }).click();
  await page.getByRole("button", { name: "Start standby1" }).waitFor({ timeout });
  await page.getByRole("listitem", { name: "Node standby2" }).filter({ hasText: /sync state\s*sync/ }).waitFor({ timeout });
  await page.getByRole("button", { name: "Stop standby2" }).click();
  await page.getByRole("button", { name: "Start standby2" }).waitFor({ timeout });
  await sql("primary", "INSERT INTO orders VALUES (1);");
  await page.getByRole("button", { name: "Cancel query on primary" }).waitFor({ timeout });
  await page.getByLabel("pg_replication_slots on primary").filter({ hasText: "standby1_slot" }).waitFor({ timeout });
  await page.getByLabel("Console for primary").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(out, "playground-sync-wait.png"), fullPage: false });
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  served.close();
}
