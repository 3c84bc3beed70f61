// The browser cluster's side of the scenarios both hosts run (tests/hosts/*.txt; the simulator's
// side is crates/sim/tests/both_hosts.rs): the built page (dist/) in headless Chromium starts the
// default preset, runs each step through `window.pgplay` and must print what the file says, as
// the simulator does. The format is pgplay_cluster::transcript's:
//
//   > run LINE              a server command: its output, or "error: " and its error
//   > psql NODE LINE        one line typed at psql on NODE
//   > eventually NODE LINE  the psql line, asked again until it prints what follows (20 s)
//   > log NODE TEXT         NODE's server log comes to hold a line containing TEXT (20 s)
//
//   node tests/e2e/both-hosts.mjs [DIST_DIR]

import { readFile, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { serveDist, launchChromium } from "../../scripts/browser.mjs";

const distDir = resolve(process.argv[2] ?? "dist");
const hostsDir = resolve("tests/hosts");
const timeoutMs = Number(process.env.PGPLAY_E2E_TIMEOUT_MS ?? 120_000);
const waitMs = 20_000;

/** Steps of a transcript: {kind, node, line, output}. */
function parse(text) {
  const steps = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("> ")) {
      const [kind, ...rest] = line.slice(2).split(" ");
      const node = kind === "run" ? null : rest.shift();
      steps.push({ kind, node, line: rest.join(" "), output: "" });
    } else if (steps.length > 0) {
      steps[steps.length - 1].output += `${line}\n`;
    }
  }
  return steps;
}

const trimmed = (text) => text.replace(/\n+$/, "");

const served = await serveDist(distDir);
const browser = await launchChromium();
const problems = [];
const done = [];
try {
  const files = (await readdir(hostsDir)).filter((f) => f.endsWith(".txt")).sort();
  for (const file of files) {
    const steps = parse(await readFile(join(hostsDir, file), "utf8"));
    const page = await browser.newPage();
    page.on("pageerror", (error) => problems.push(`${file}: page error: ${error.message}`));
    await page.goto(served.url, { timeout: timeoutMs });
    await page.waitForFunction(() => window.pgplay && window.pgplay.allStreaming(), null, { timeout: timeoutMs });
    const psql = (node, line) => page.evaluate(([n, l]) => window.pgplay.psql(n, l), [node, line]);
    const run = (line) =>
      page.evaluate((l) => window.pgplay.run(l).then((t) => t, (e) => `error: ${String(e)}`), line);
    const logged = (node, text) =>
      page.evaluate(([n, t]) => window.pgplay.log(n).some((l) => l.includes(t)), [node, text]);
    async function printed(step) {
      const until = Date.now() + waitMs;
      switch (step.kind) {
        case "run":
          return run(step.line);
        case "psql":
          return psql(step.node, step.line);
        case "eventually": {
          let out = "";
          do {
            out = await psql(step.node, step.line);
            if (trimmed(out) === trimmed(step.output)) return out;
            await page.waitForTimeout(100);
          } while (Date.now() < until);
          return out;
        }
        case "log":
          do {
            if (await logged(step.node, step.line)) return "";
            await page.waitForTimeout(100);
          } while (Date.now() < until);
          return `${step.node}'s log never said: ${step.line}\n`;
        default:
          return `unknown step ${step.kind}`;
      }
    }
    for (const step of steps) {
      const out = await printed(step);
      const title = `${file}: > ${step.kind} ${step.node ?? ""} ${step.line}`.replace("  ", " ");
      if (trimmed(out) !== trimmed(step.output)) {
        problems.push(`${title}\n    printed:  ${JSON.stringify(out)}\n    expected: ${JSON.stringify(step.output)}`);
      } else {
        done.push(`ok   ${title}`);
      }
    }
    await page.close();
  }
} catch (error) {
  problems.push(String(error));
} finally {
  await browser.close();
  served.close();
}

console.log(done.join("\n"));
if (problems.length > 0) {
  console.error(`both-hosts e2e FAILED:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("both-hosts e2e ok: the page printed what the simulator prints");
