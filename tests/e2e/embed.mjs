// End-to-end test of the embed mode in headless Chromium: `?embed=console,cluster&nodes=...` in a
// 720×480 viewport has no header, only the named nodes' consoles, and a script player whose
// "Next step" and "Run all" step through `#script=`; at 320 px nothing scrolls sideways. Then a
// host page on another origin frames it and drives it with postMessage (psql, a command, status,
// events), and the same host on an origin the embed does not allow gets no answer. No console
// errors allowed. Screenshots in target/artifacts/.
//
//   node tests/e2e/embed.mjs [DIST_DIR] [ARTIFACT_DIR]

import { createServer } from "node:http";
import { join } from "node:path";
import { startE2e } from "./harness.mjs";

const e2e = await startE2e("embed");
const { url, artifacts, timeout, browser, step, watch } = e2e;
const embedOrigin = new URL(url).origin;

// The docs site: one page with the embed in an iframe, served on loopback. On 127.0.0.1 it is
// the allowed origin; the same page on 127.0.0.2 (another origin) is not.
let hostPort = 0;
const allowed = () => `http://127.0.0.1:${hostPort}`;
const docsPage = (request, response) => {
  const src = `${url}?embed=console&nodes=primary&origin=${encodeURIComponent(allowed())}`;
  response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  response.end(`<!doctype html><html><head><meta charset="utf-8"><title>docs</title></head><body>
<h1>A docs page</h1>
<iframe title="pgplay example" src="${src}" width="720" height="480"></iframe>
<script>
  window.messages = [];
  addEventListener("message", (event) => {
    if (event.origin === ${JSON.stringify(embedOrigin)}) window.messages.push(event.data);
  });
  window.send = (message) =>
    document.querySelector("iframe").contentWindow.postMessage(message, ${JSON.stringify(embedOrigin)});
</script></body></html>`);
};
const host = createServer(docsPage);
await new Promise((ready) => host.listen(0, "127.0.0.1", ready));
hostPort = host.address().port;
const strangerHost = createServer(docsPage);
await new Promise((ready) => strangerHost.listen(0, "127.0.0.2", ready));
e2e.onClose(() => host.close());
e2e.onClose(() => strangerHost.close());

const script = "CREATE TABLE docs (x int);\nINSERT INTO docs VALUES (1), (2);\n\\c standby1\nSELECT pg_is_in_recovery();\n";
await e2e.run(async () => {
  const page = await browser.newPage({ viewport: { width: 720, height: 480 } });
  watch(page);
  await page.goto(`${url}?embed=console,cluster&nodes=primary,standby1#script=${encodeURIComponent(script)}`);
  await page.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
  await step("the embed has no header and only the named nodes", async () => {
    if (await page.locator("h1").count()) throw new Error("the page header is shown");
    await page.getByLabel("SQL for standby1").waitFor({ timeout });
    if (await page.getByLabel("SQL for standby2").count()) throw new Error("standby2's console is shown");
  });
  await step("Next step runs the script's first step", async () => {
    await page.getByRole("button", { name: "Next step" }).click();
    await page.getByLabel("psql output for primary").filter({ hasText: "CREATE TABLE" }).waitFor({ timeout });
    await page.getByLabel("Script progress").filter({ hasText: "Step 2 of 3 next." }).waitFor({ timeout });
  });
  await step("Run all runs the rest", async () => {
    await page.getByRole("button", { name: "Run all" }).click();
    await page.getByLabel("Script progress").filter({ hasText: "All 3 steps run." }).waitFor({ timeout });
    await page.getByLabel("psql output for standby1").filter({ hasText: " t\n(1 row)" }).waitFor({ timeout });
  });
  await page.screenshot({ path: join(artifacts, "embed-720x480.png") });
  await page.close();

  const narrow = await browser.newPage({ viewport: { width: 320, height: 480 } });
  watch(narrow);
  await narrow.goto(`${url}?embed=cluster,console&nodes=primary#script=${encodeURIComponent(script)}`);
  await narrow.getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
  await step("at 320 px the embed does not scroll sideways", async () => {
    await narrow.getByLabel("SQL for primary").waitFor({ timeout });
    const width = await narrow.evaluate(() => document.documentElement.scrollWidth);
    if (width > 320) throw new Error(`the embed is ${width} px wide`);
  });
  await narrow.screenshot({ path: join(artifacts, "embed-320.png") });
  await narrow.close();

  const docs = await browser.newPage({ viewport: { width: 900, height: 700 } });
  watch(docs);
  await docs.goto(`${allowed()}/`);
  const result = (id) =>
    docs.waitForFunction((id) => window.messages.find((m) => m.type === "pgplay:result" && m.id === id), id, { timeout })
      .then((handle) => handle.jsonValue());
  await step("an allowed host hears pgplay:ready", async () => {
    await docs.waitForFunction(() => window.messages.some((m) => m.type === "pgplay:ready"), null, { timeout });
  });
  await step("an allowed host runs SQL with pgplay:psql", async () => {
    await docs.evaluate(() => window.send({ type: "pgplay:psql", id: 1, node: "primary", sql: "SELECT 41 + 1 AS answer;" }));
    const answer = await result(1);
    if (!answer.ok || !answer.output.includes("42")) throw new Error(JSON.stringify(answer));
    await docs.frameLocator("iframe").getByLabel("psql output for primary").filter({ hasText: "41 + 1" }).waitFor({ timeout });
  });
  await step("an allowed host runs a command, reads the status and gets events", async () => {
    await docs.evaluate(() => window.send({ type: "pgplay:subscribe" }));
    await docs.evaluate(() => window.send({ type: "pgplay:run", id: 2, command: "pg_ctl -D standby1 promote" }));
    const answer = await result(2);
    if (!answer.ok || !answer.output.includes("server promoted")) throw new Error(JSON.stringify(answer));
    await docs.waitForFunction(() => window.messages.some((m) => m.type === "pgplay:events"), null, { timeout });
    await docs.evaluate(() => window.send({ type: "pgplay:status", id: 3 }));
    const status = await docs.waitForFunction(() => window.messages.find((m) => m.type === "pgplay:status" && m.id === 3), null, { timeout })
      .then((handle) => handle.jsonValue());
    if (!JSON.parse(status.status).standby1) throw new Error(JSON.stringify(status));
  });
  await docs.close();

  const stranger = await browser.newPage({ viewport: { width: 900, height: 700 } });
  watch(stranger);
  await stranger.goto(`http://127.0.0.2:${strangerHost.address().port}/`);
  await step("a host on another origin is ignored", async () => {
    await stranger.frameLocator("iframe").getByRole("status").filter({ hasText: "Streaming" }).waitFor({ timeout });
    await stranger.evaluate(() => window.send({ type: "pgplay:psql", id: 9, node: "primary", sql: "CREATE TABLE intruder (x int);" }));
    await stranger.waitForTimeout(2000);
    const heard = await stranger.evaluate(() => window.messages);
    if (heard.length) throw new Error(`the embed answered: ${JSON.stringify(heard)}`);
    const shown = await stranger.frameLocator("iframe").getByLabel("psql output for primary").textContent();
    if (shown.includes("intruder")) throw new Error("the embed ran the stranger's SQL");
  });
  await stranger.close();
});
