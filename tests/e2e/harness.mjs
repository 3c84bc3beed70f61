// What the step-by-step end-to-end scripts (console, playground, embed, package) share: the
// built page served from DIST_DIR (argv[2]) on loopback, headless Chromium, named steps whose
// failures are collected rather than thrown (so one run reports every broken step), pages that
// count an uncaught error or a console error as a failure, and the report at the end: each
// step's line, then the problems and exit status 1, or "NAME e2e ok".
//
//   const e2e = await startE2e("console");
//   await e2e.run(async () => {
//     const page = await e2e.newPage({ viewport: { width: 390, height: 844 } });
//     await e2e.step("Enter runs the statement", async () => { ... });
//   });

import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { serveDist, launchChromium } from "../../scripts/browser.mjs";

/// Serves dist/, starts Chromium and makes ARTIFACT_DIR (argv[3]).
export async function startE2e(name) {
  const distDir = resolve(process.argv[2] ?? "dist");
  const artifacts = resolve(process.argv[3] ?? "target/artifacts");
  const timeout = Number(process.env.PGPLAY_E2E_TIMEOUT_MS ?? 30_000);
  await mkdir(artifacts, { recursive: true });
  const served = await serveDist(distDir);
  const browser = await launchChromium();
  const problems = [];
  const steps = [];
  const cleanups = [];

  /// Runs one named check; a thrown error fails the step (its first lines are kept) and the
  /// run goes on. A string the body returns is shown after the step's name.
  async function step(title, body) {
    try {
      const detail = await body();
      steps.push(`ok   ${title}${detail ? `: ${detail}` : ""}`);
    } catch (error) {
      steps.push(`FAIL ${title}`);
      problems.push(`${title}: ${String(error).split("\n").slice(0, 8).join("\n")}`);
    }
  }

  /// Counts the page's uncaught errors and console errors as problems.
  function watch(page) {
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    return page;
  }

  /// Runs the script's body, closes everything, prints the report and exits 1 on a problem.
  async function run(body) {
    try {
      await body();
    } catch (error) {
      problems.push(String(error));
    } finally {
      await browser.close();
      served.close();
      for (const cleanup of cleanups) cleanup();
    }
    console.log(steps.join("\n"));
    if (problems.length > 0) {
      console.error(`${name} e2e FAILED on ${served.url}:\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
    console.log(`${name} e2e ok; screenshots in ${artifacts}`);
  }

  return {
    url: served.url,
    distDir,
    artifacts,
    timeout,
    browser,
    problems,
    step,
    watch,
    run,
    /// A new page of the browser, watched.
    newPage: async (options) => watch(await browser.newPage(options)),
    /// Something else to close at the end (a host page's server).
    onClose: (cleanup) => cleanups.push(cleanup),
  };
}
