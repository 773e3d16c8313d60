// Measures how fast the web UI's flame graph becomes interactive on a given profile:
// time from process start to "Serving", and from navigation to the flame graph's
// script being ready, with the page's size. Not a test: run it on a large profile.
//
//   node measure.mjs PROFILE [PROFKIT]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [profilePath, profkit = "target/release/profkit"] = process.argv.slice(2);
if (!profilePath) {
  console.error("usage: node measure.mjs PROFILE [PROFKIT]");
  process.exit(2);
}
const t0 = performance.now();
const child = spawn(profkit, ["-http=127.0.0.1:0", "-no_browser", profilePath], {
  stdio: ["ignore", "ignore", "pipe"],
});
const base = await new Promise((resolve) => {
  createInterface({ input: child.stderr }).on("line", (line) => {
    const m = line.match(/Serving web UI on (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
});
const tServing = performance.now();
const dir = mkdtempSync(path.join(tmpdir(), "profkit-measure-"));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const page = await ctx.newPage();
const tNav = performance.now();
const resp = await page.goto(`${base}/ui/`);
await page.waitForFunction(() => window.flamegraph !== undefined);
const tReady = performance.now();
const timing = await page.evaluate(() => {
  const t = performance.getEntriesByType("navigation")[0];
  return {
    server_ms: Math.round(t.responseStart - t.requestStart),
    download_ms: Math.round(t.responseEnd - t.responseStart),
    parse_and_script_ms: Math.round(t.domContentLoadedEventEnd - t.responseEnd),
  };
});
const body = await resp.body();
const frames = await page.locator("#frames > g").count();
const tCold0 = performance.now();
await page.goto(`${base}/ui/flamegraph?f=Compile`);
await page.waitForFunction(() => window.flamegraph !== undefined);
const tCold = performance.now() - tCold0;
const tClick0 = performance.now();
await page.locator("#frames > g").nth(2).click();
const tClick = performance.now() - tClick0;
console.log(
  JSON.stringify({
    start_to_serving_ms: Math.round(tServing - t0),
    navigation_to_interactive_ms: Math.round(tReady - tNav),
    start_to_interactive_ms: Math.round(tReady - t0),
    zoom_click_ms: Math.round(tClick),
    uncached_focused_view_ms: Math.round(tCold),
    ...timing,
    page_bytes: body.length,
    frames_drawn: frames,
  }),
);
await ctx.close();
child.kill();
rmSync(dir, { recursive: true, force: true });
