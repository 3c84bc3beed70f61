// End-to-end test of pgplay's JavaScript package (web/package, copied to dist/package by Trunk),
// used the way another project would: a host page on another origin than the playground serves
// its own copy of the package, imports `Cluster` and runs tests/e2e/package/replication.test.js
// headlessly (start a cluster, write on the primary, the standby's read-only error 25006, a
// promotion, a write on the promoted standby); and renders a <pgplay-console> from one script
// tag, drives it through its Cluster, and checks that a message sent before `pgplay:ready` is
// answered once the cluster streams. No console errors allowed. Screenshot in ARTIFACT_DIR.
//
//   node tests/e2e/package.mjs [DIST_DIR] [ARTIFACT_DIR]

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { startE2e } from "./harness.mjs";

const here = join(dirname(fileURLToPath(import.meta.url)), "package");
const e2e = await startE2e("package");
const { url: playground, distDir, artifacts, timeout, step } = e2e;

// The other project's test server: its page and test under /, its copy of the package (as
// `npm install` of dist/package would give it) under /pgplay/.
const host = createServer(async (request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, "http://localhost").pathname));
  const file = path === "/" ? join(here, "index.html")
    : path.startsWith("/pgplay/") ? join(distDir, "package", path.slice("/pgplay/".length))
    : join(here, path);
  try {
    let body = await readFile(file);
    if (file.endsWith("index.html")) body = body.toString().replaceAll("PGPLAY_SRC", playground);
    const type = { ".html": "text/html; charset=utf-8", ".js": "text/javascript" }[extname(file)];
    response.writeHead(200, { "content-type": type ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404);
    response.end("not found");
  }
});
await new Promise((ready) => host.listen(0, "127.0.0.1", ready));
const hostUrl = `http://127.0.0.1:${host.address().port}/`;
e2e.onClose(() => host.close());

await e2e.run(async () => {
  const page = await e2e.newPage({ viewport: { width: 900, height: 800 } });
  // Messages the host page hears from the element's embed, with when they came.
  await page.addInitScript(() => {
    window.heard = [];
    addEventListener("message", (event) => window.heard.push(event.data));
  });
  await page.goto(hostUrl);
  const frame = page.frameLocator("pgplay-console iframe");

  await step("a message sent while the embed starts is answered once it streams", async () => {
    // The embed renders its status as soon as it runs, before the cluster streams.
    await frame.getByRole("status").first().waitFor({ timeout });
    const early = await page.evaluate(() => {
      const before = window.heard.some((m) => m?.type === "pgplay:ready");
      const iframe = document.querySelector("pgplay-console").shadowRoot.querySelector("iframe");
      iframe.contentWindow.postMessage(
        { type: "pgplay:psql", id: 1e9, node: "primary", sql: "SELECT 'early' AS sent;" },
        new URL(iframe.src).origin);
      return before;
    });
    const answer = await page.waitForFunction(() => window.heard.find((m) => m?.id === 1e9), null, { timeout })
      .then((handle) => handle.jsonValue());
    if (!answer.ok || !answer.output.includes(" early\n")) throw new Error(JSON.stringify(answer));
    return early ? "sent after ready (the cluster was quick)" : "sent before pgplay:ready";
  });

  await step("<pgplay-console> renders the embed's console and script player", async () => {
    await frame.getByLabel("SQL for primary").waitFor({ timeout });
    if (await frame.getByLabel("SQL for standby1").count()) throw new Error("standby1's console is shown (nodes=primary)");
    await frame.getByRole("button", { name: "Next step" }).waitFor({ timeout });
  });

  await step("the element's Cluster runs SQL shown in its console", async () => {
    await page.evaluate(async () => (await import("./replication.test.js")).elementTest());
    await frame.getByLabel("psql output for primary").filter({ hasText: "6 * 7" }).waitFor({ timeout });
  });

  await step("Cluster.start: write, read-only standby (25006), promotion, write on it", async () => {
    const log = await page.evaluate(async (src) =>
      (await import("./replication.test.js")).replicationTest(src), playground);
    return `\n       ${log.join("\n       ")}`;
  });
  await page.screenshot({ path: join(artifacts, "package-host.png"), fullPage: true });
  await page.close();
});
