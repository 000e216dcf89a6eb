// Drive the demo page (examples/web/) in a real headless Chromium through playwright-core, as a person
// would: pick images and models with its file inputs, read what the page shows. Used by
// tests/test_web_runtime.py and benchmarks/web_bench.py.
//
//   node runtime/web/browser.mjs job.json  ->  one JSON object on stdout
//
// job: {url, chromium?, steps: [{image, threshold?, pixels?} | {model} | {time: repeats, threshold?}
//       | {screenshot: path}]}. Each step reports the page's message, the console lines it caused and,
//       for a run, its detections (masks as row-major run lengths, zeros first), timings and, with
//       pixels, the decoded RGBA (base64). The page opens with ?threads= when job.threads is set.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { chromium } from "playwright-core";

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const TIMEOUT_MS = 120_000;

async function pageState(page, withPixels) {
  return page.evaluate((withPixels) => {
    const runLengths = (mask) => {  // row-major, zeros first
      const counts = [];
      let value = 0, run = 0;
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] !== value) {
          counts.push(run);
          value = mask[i];
          run = 0;
        }
        run++;
      }
      counts.push(run);
      return counts;
    };
    const { last, image } = window.demo;
    const shown = {
      message: document.getElementById("message").textContent,
      modelLine: document.getElementById("model-line").textContent,
      timingsLine: document.getElementById("timings").textContent,
    };
    if (!last) return shown;
    const detections = last.detections.map(({ mask, ...rest }) => ({ ...rest, mask: mask ? runLengths(mask) : null }));
    let pixels = null;
    if (withPixels) {
      let text = "";
      for (let i = 0; i < image.data.length; i += 0x8000) text += String.fromCharCode(...image.data.subarray(i, i + 0x8000));
      pixels = btoa(text);
    }
    return { ...shown, run: { ...last, detections }, pixels };
  }, withPixels);
}

async function afterRun(page, action) {
  const before = await page.evaluate(() => window.demo.runs);
  await action();
  await page.waitForFunction((n) => window.demo.runs > n, before, { timeout: TIMEOUT_MS });
}

async function timeRuns(page, repeats, threshold) {
  return page.evaluate(async ({ repeats, threshold }) => {
    const { model, image } = window.demo;
    const runs = [];
    for (let i = 0; i < repeats; i++) runs.push((await model.predict(image, { scoreThreshold: threshold })).timings);
    return { provider: model.provider, runs };
  }, { repeats, threshold });
}

async function step(page, task) {
  if (task.model) {
    await afterRun(page, () => page.setInputFiles("#model-file", task.model));
    return pageState(page, false);
  }
  if (task.image) {
    await page.fill("#threshold", String(task.threshold ?? 0.3));
    await afterRun(page, () => page.setInputFiles("#image-file", task.image));
    return { path: task.image, ...(await pageState(page, Boolean(task.pixels))) };
  }
  if (task.time) return timeRuns(page, task.time, task.threshold ?? 0.3);
  if (task.screenshot) {
    await page.screenshot({ path: task.screenshot, fullPage: true });
    return { screenshot: task.screenshot };
  }
  throw new Error(`unknown step ${JSON.stringify(task)}`);
}

async function main() {
  const job = JSON.parse(await readFile(process.argv[2], "utf8"));
  const profile = await mkdtemp(join(tmpdir(), "yolact-chromium-"));  // a fresh --user-data-dir
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: job.chromium ?? "/usr/bin/chromium", headless: true, args: FLAGS, viewport: { width: 900, height: 700 },
  });
  const consoleLines = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => consoleLines.push({ type: message.type(), text: message.text() }));
    page.on("pageerror", (error) => consoleLines.push({ type: "pageerror", text: String(error) }));
    await page.goto(job.threads ? `${job.url}?threads=${job.threads}` : job.url);
    await page.waitForFunction(() => window.demo?.ready, null, { timeout: TIMEOUT_MS });
    await page.evaluate(() => window.demo.ready);
    const opened = await pageState(page, false);
    const browser = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    const opening = consoleLines.splice(0);
    const steps = [];
    for (const task of job.steps) steps.push({ ...(await step(page, task)), console: consoleLines.splice(0) });
    process.stdout.write(JSON.stringify({ browser, opened: { ...opened, console: opening }, steps }));
  } catch (error) {
    const lines = consoleLines.map((line) => `  console ${line.type}: ${line.text}`).join("\n");
    throw new Error(`${error.message.split("\n")[0]}${lines ? `\n${lines}` : ""}`);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`browser.mjs: ${error.message}\n`);
  process.exit(1);
});
