// Opens a notebook through the classic Jupyter Notebook's UI in Debian's Chromium, runs every cell from the Cell
// menu, waits for the kernel to go idle and checks that every chart drew (a Plotly .main-svg in each output that
// carries a Plotly figure) and that no cell failed. Screenshots go to the given folder.
// Usage: node run-notebook.mjs <server url with ?token=> <folder in the tree> <notebook file> <screenshot folder>
// Prints one JSON line (the findings) and exits 0 when the notebook ran clean with every chart drawn, 1 otherwise.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, folder, notebook, shots] = process.argv.slice(2);
const browserPath = process.env.CKPT_CHROMIUM ?? "/usr/bin/chromium";
const runMinutes = Number(process.env.CKPT_RUN_MINUTES ?? "10");
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "ckpt-chromium-"));
const started = Date.now();
const seconds = () => Math.round((Date.now() - started) / 1000);

// Playwright takes the profile folder as launchPersistentContext's first argument (it refuses --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: browserPath,
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const findings = { notebook, steps: [] };
let ok = false;
try {
  const tree = context.pages()[0] ?? await context.newPage();
  await tree.goto(url, { waitUntil: "domcontentloaded" });
  // The tree view lists the folder, then the notebook; the notebook opens in a new tab.
  await tree.locator(`#notebook_list a.item_link[href$="/${folder}"]`).click();
  const link = tree.locator(`#notebook_list a.item_link[href$="/${folder}/${notebook}"]`);
  await link.waitFor();
  const [page] = await Promise.all([context.waitForEvent("page"), link.click()]);
  findings.steps.push(`opened ${folder}/${notebook} from the tree at ${seconds()} s`);
  await page.waitForFunction(() => window.Jupyter?.notebook?.kernel?.is_connected?.(), null, { timeout: 180_000 });
  await page.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 180_000 });
  // The run must leave the notebook file as it is in git.
  await page.evaluate(() => window.Jupyter.notebook.set_autosave_interval(0));
  await page.screenshot({ path: join(shots, "opened.png") });

  await page.click("#celllink");
  await page.click("#run_all_cells > a");
  findings.steps.push(`Cell > Run All at ${seconds()} s`);
  await page.waitForFunction(() => {
    const cells = window.Jupyter.notebook.get_cells().filter(c => c.cell_type === "code");
    const done = cells.every(c => typeof c.input_prompt_number === "number");
    return done && document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null;
  }, null, { timeout: runMinutes * 60_000, polling: 1000 });
  findings.steps.push(`every code cell ran and the kernel went idle at ${seconds()} s`);

  // Each output that carries a Plotly figure must hold a drawn plot; charts draw after their script runs.
  const judge = () => page.evaluate(() => {
    const report = { cells: 0, charts: 0, drawn: 0, errors: [] };
    for (const cell of window.Jupyter.notebook.get_cells().filter(c => c.cell_type === "code")) {
      report.cells++;
      const areas = cell.output_area.element[0].querySelectorAll(".output_area");
      cell.output_area.outputs.forEach((o, i) => {
        if (o.output_type === "error") report.errors.push(`${o.ename}: ${o.evalue}`);
        if (o.data?.["application/vnd.plotly.v1+json"] !== undefined) {
          report.charts++;
          if (areas[i]?.querySelector(".js-plotly-plot .main-svg")) report.drawn++;
        }
      });
      for (const e of cell.element[0].querySelectorAll(".output_error"))
        report.errors.push(e.textContent.trim().slice(0, 300));
    }
    return report;
  });
  let report = await judge();
  for (let i = 0; i < 60 && report.drawn < report.charts; i++) {
    await page.waitForTimeout(1000);
    report = await judge();
  }
  Object.assign(findings, report);
  findings.steps.push(`${report.drawn} of ${report.charts} charts drawn at ${seconds()} s`);

  const charts = page.locator(".output_area:has(.js-plotly-plot)");
  const count = await charts.count();
  for (let i = 0; i < count; i++)
    await charts.nth(i).screenshot({ path: join(shots, `chart-${String(i + 1).padStart(2, "0")}.png`) });
  await page.screenshot({ path: join(shots, "ran.png") });
  ok = report.charts > 0 && report.drawn === report.charts && report.errors.length === 0;
} catch (e) {
  findings.failure = String(e?.message ?? e).split("\n")[0];
  for (const p of context.pages()) await p.screenshot({ path: join(shots, `failure-${context.pages().indexOf(p)}.png`) }).catch(() => {});
} finally {
  findings.seconds = seconds();
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(findings));
process.exit(ok ? 0 : 1);
