// Opens a static HTML page (nbconvert's export of an executed notebook) in Debian's Chromium with no network and
// counts the Plotly charts that drew. Usage: node render-html.mjs <html file> <screenshot file>
// Prints one JSON line: {"plots": n, "drawn": n, "requests": [urls other than file: and data:]}.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [html, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CKPT_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests = [];
  // Offline: anything but the file itself is refused, and reported.
  await page.route(/^(?!file:|data:)/, route => { requests.push(route.request().url()); return route.abort(); });
  await page.goto(pathToFileURL(html).href);
  const count = () => page.evaluate(() => ({
    plots: document.querySelectorAll(".js-plotly-plot").length,
    drawn: [...document.querySelectorAll(".js-plotly-plot")].filter(p => p.querySelector(".main-svg")).length,
  }));
  let result = await count();
  for (let i = 0; i < 30 && (result.plots === 0 || result.drawn < result.plots); i++) {
    await page.waitForTimeout(500);
    result = await count();
  }
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ ...result, requests }));
} finally {
  await browser.close();
}
