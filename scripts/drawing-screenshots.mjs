// Screenshots of the cluster drawing, as a learner sees it, at 1440×900 and 390×844: the default
// cluster streaming, a cut link, and a promoted standby beside a live primary (split brain).
// Run after `trunk build --release`:
//
//   node scripts/drawing-screenshots.mjs [DIST_DIR] [OUT_DIR]

import { mkdir } from "node:fs/promises";
import { resolve, join } from "node:path";
import { serveDist, launchChromium } from "./browser.mjs";

const dist = resolve(process.argv[2] ?? "dist");
const out = resolve(process.argv[3] ?? "target/artifacts/drawing");
const timeout = 30_000;
await mkdir(out, { recursive: true });
const served = await serveDist(dist);
const browser = await launchChromium();
try {
  for (const [size, viewport] of [["desktop", { width: 1440, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    const page = await browser.newPage({ viewport });
    page.on("console", (m) => { if (m.type() === "error") console.error(`console error: ${m.text()}`); });
    await page.goto(served.url);
    const status = page.getByRole("status").filter({ hasText: "Streaming" });
    await status.waitFor({ timeout });
    const drawing = page.getByRole("figure", { name: "Cluster drawing" });
    const shot = async (name) => {
      await drawing.scrollIntoViewIfNeeded();
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(400);
      await page.screenshot({ path: join(out, `${name}-${size}.png`) });
    };
    await page.getByRole("button", { name: /Replication primary → standby1: streaming/ }).waitFor({ timeout });
    await shot("streaming");
    await page.getByRole("button", { name: "Cut link primary to standby1" }).click();
    await page.getByRole("status").filter({ hasText: "link primary → standby1 is cut" }).waitFor({ timeout });
    await page.getByLabel("SQL for primary").fill("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000);");
    await page.getByLabel("SQL for primary").press("Control+Enter");
    await page.waitForTimeout(1500);
    await shot("cut");
    await page.getByRole("button", { name: "Heal link primary to standby1" }).click();
    await page.getByRole("button", { name: "Promote standby1" }).click();
    await page.getByRole("alert").filter({ hasText: "Split brain" }).waitFor({ timeout });
    await page.waitForTimeout(1000);
    await shot("split-brain");
    console.log(size, await page.getByRole("status").first().textContent());
    await page.close();
  }
  // The cascading preset with its primary crashed: standby1 has no upstream, standby2 still
  // streams from standby1.
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${served.url}?preset=cascading`);
  await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
  await page.getByRole("button", { name: "Crash primary" }).click();
  await page.getByRole("status").filter({ hasText: "primary is down" }).waitFor({ timeout });
  await page.waitForTimeout(1000);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, "cascading-primary-down-desktop.png") });
  console.log("cascading", await page.getByRole("status").first().textContent());
  await page.close();
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  served.close();
}
