// Drives profkit's web UI and standalone flame graphs in headless Chromium: every view
// loads without a console error, clicking a frame zooms, Focus changes the Top table,
// search highlights frames. Screenshots go to target/browser-screenshots/.
//
// Environment: PROFKIT (the binary; default target/debug/profkit), CHROMIUM (default
// /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const profkit = process.env.PROFKIT || path.join(root, "target/debug/profkit");
const inputs = path.join(root, "testdata/conformance/differential/inputs");
const shots = path.join(root, "target/browser-screenshots");
mkdirSync(shots, { recursive: true });

let browser;
let userDataDir;
const servers = [];

// Starts `profkit -http` on a free loopback port; resolves to its base URL. `env` adds
// environment variables (XDG_CONFIG_HOME, where pprof's settings file is).
function startServer(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(profkit, ["-http=127.0.0.1:0", "-no_browser", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...env },
    });
    servers.push(child);
    const timer = setTimeout(() => reject(new Error("server did not start")), 30000);
    child.on("error", reject);
    createInterface({ input: child.stderr }).on("line", (line) => {
      const m = line.match(/Serving web UI on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

// A new page that records console errors and uncaught exceptions.
async function newPage() {
  const page = await browser.newPage();
  page.errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      page.errors.push(msg.text());
    }
  });
  page.on("pageerror", (err) => page.errors.push(String(err)));
  // Nothing may come from the network: only the server itself and inline data.
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith("http://127.0.0.1") && !url.startsWith("file:") && !url.startsWith("data:")) {
      page.errors.push("external request: " + url);
    }
  });
  return page;
}

before(async () => {
  userDataDir = mkdtempSync(path.join(tmpdir(), "profkit-chromium-"));
  // A persistent context on a fresh profile directory (Chromium's --user-data-dir).
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    viewport: { width: 1300, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  if (browser) {
    await browser.close();
  }
  for (const s of servers) {
    s.kill();
  }
  rmSync(userDataDir, { recursive: true, force: true });
});

test("every view loads without console errors", async () => {
  const base = await startServer([path.join(inputs, "cpu.pb.gz")]);
  const page = await newPage();
  for (const view of ["", "flamegraph", "top", "graph", "peek?f=memmove", "source?f=memmove", "source"]) {
    const resp = await page.goto(`${base}/ui/${view}`);
    const status = resp.status();
    // The graph needs graphviz; without it the page says so with 501.
    assert.ok(status === 200 || (view === "graph" && status === 501), `${view}: status ${status}`);
    const name = (view || "index").replace(/[^a-z]+/g, "-");
    await page.screenshot({ path: path.join(shots, `view-${name}.png`) });
  }
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("clicking a frame zooms into it and reset restores", async () => {
  const base = await startServer([path.join(inputs, "cpu.pb.gz")]);
  const page = await newPage();
  await page.goto(`${base}/ui/flamegraph`);
  const frame = page.locator("#frames > g", { has: page.locator("title", { hasText: /^main\.worker\n/ }) }).first();
  const before = Number(await frame.locator("rect").getAttribute("width"));
  await frame.click();
  const after = Number(await frame.locator("rect").getAttribute("width"));
  assert.ok(after > before, `zoomed width ${after} > ${before}`);
  assert.ok(await page.evaluate(() => window.flamegraph.zoomed() > 0));
  const hidden = await page.locator("#frames > g.hidden").count();
  assert.ok(hidden > 0, "frames outside the zoomed one are hidden");
  await page.screenshot({ path: path.join(shots, "flame-zoomed.png") });
  await page.click("#flame-reset");
  assert.equal(await page.locator("#frames > g.hidden").count(), 0);
  assert.equal(Number(await frame.locator("rect").getAttribute("width")), before);
  await page.click("#flame-flip");
  assert.equal(await page.locator("svg.flame").getAttribute("data-orient"), "icicle");
  await page.screenshot({ path: path.join(shots, "flame-icicle.png") });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("search highlights matching frames and reports their share", async () => {
  const base = await startServer([path.join(inputs, "cpu.pb.gz")]);
  const page = await newPage();
  await page.goto(`${base}/ui/flamegraph`);
  await page.fill("#search", "^runtime\\.");
  const highlighted = await page.locator('#frames rect[fill="#e040e0"]').count();
  assert.ok(highlighted > 0, "some frames highlighted");
  const matched = await page.textContent("#flame-matched");
  assert.match(matched, /^Matched: \d+\.\d\d%$/);
  await page.screenshot({ path: path.join(shots, "flame-search.png") });
  // The search is shared: the Top view highlights the same names.
  await page.click("#view-top");
  await page.waitForSelector("#toptable");
  const rows = await page.locator("#toptable tr.match").count();
  assert.ok(rows > 0, "top rows highlighted");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("focus from the search box changes the Top table", async () => {
  const base = await startServer([path.join(inputs, "cpu.pb.gz")]);
  const page = await newPage();
  await page.goto(`${base}/ui/top`);
  const all = await page.locator("#toptable tbody tr").count();
  await page.fill("#search", "sort\\.");
  await Promise.all([page.waitForURL(/f=sort/), page.click('#refine button[data-param="f"]')]);
  const focused = await page.locator("#toptable tbody tr").count();
  assert.ok(focused > 0 && focused < all, `focused ${focused} < ${all}`);
  assert.match(await page.textContent("#filters"), /focus=sort\\\./);
  // Sorting by cum puts the largest cum first.
  await page.click('th[data-sort="cum"]');
  const cums = await page.$$eval("#toptable tbody tr", (rows) => rows.map((r) => Math.abs(Number(r.dataset.cum))));
  assert.deepEqual(cums, [...cums].sort((a, b) => b - a));
  await page.screenshot({ path: path.join(shots, "top-focused.png") });
  // The filter chip removes the focus again.
  await Promise.all([page.waitForURL((u) => !u.search.includes("f=")), page.click("#filters .chip-x")]);
  assert.equal(await page.locator("#toptable tbody tr").count(), all);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("tag focus from the search box keeps the samples with the label", async () => {
  const base = await startServer([path.join(inputs, "cpu_labels.pb.gz")]);
  const page = await newPage();
  await page.goto(`${base}/ui/top`);
  const total = async () => (await page.textContent("#legend")).match(/accounting for ([^,]+),/)[1];
  const before = await total();
  await page.fill("#search", "phase=warmup");
  await Promise.all([page.waitForURL(/tf=phase/), page.click('#refine button[data-param="tf"]')]);
  assert.match(await page.textContent("#filters"), /tagfocus=phase=warmup/);
  assert.notEqual(await total(), before);
  await Promise.all([page.waitForURL(/ti=/), (async () => {
    await page.fill("#search", "pool=io");
    await page.click('#refine button[data-param="ti"]');
  })()]);
  assert.match(await page.textContent("#filters"), /tagignore=pool=io/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("differential flame graph loads", async () => {
  const base = await startServer([
    "-diff_base=" + path.join(inputs, "cpu_a.pb.gz"),
    path.join(inputs, "cpu_b.pb.gz"),
  ]);
  const page = await newPage();
  await page.goto(`${base}/ui/flamegraph`);
  assert.equal(await page.locator("#diff-banner").count(), 1);
  await page.screenshot({ path: path.join(shots, "flame-diff.png") });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("standalone SVG and HTML flame graphs are interactive offline", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "profkit-flame-"));
  try {
    const svgPath = path.join(dir, "flame.svg");
    const htmlPath = path.join(dir, "flame.html");
    const svg = execFileSync(profkit, ["-flamegraph", path.join(inputs, "cpu.pb.gz")]);
    writeFileSync(svgPath, svg);
    execFileSync(profkit, ["-flamegraph", "-output=" + htmlPath, path.join(inputs, "cpu.pb.gz")], {
      stdio: "ignore",
    });
    const page = await newPage();
    await page.goto(pathToFileURL(svgPath).href);
    const frame = page.locator("#frames > g").nth(1);
    await frame.click();
    assert.ok(await page.evaluate(() => window.flamegraph.zoomed() === 1));
    await page.click("#reset");
    await page.screenshot({ path: path.join(shots, "standalone-svg.png") });
    await page.goto(pathToFileURL(htmlPath).href);
    await page.fill("#flame-search", "compress");
    assert.match(await page.textContent("#flame-matched"), /^Matched: /);
    await page.screenshot({ path: path.join(shots, "standalone-html.png") });
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a config saved from the Config menu brings its focus back", async () => {
  const configHome = mkdtempSync(path.join(tmpdir(), "profkit-config-"));
  const settings = path.join(configHome, "pprof", "settings.json");
  try {
    const base = await startServer([path.join(inputs, "cpu.pb.gz")], { XDG_CONFIG_HOME: configHome });
    const page = await newPage();
    await page.goto(`${base}/ui/top`);
    const all = await page.locator("#toptable tbody tr").count();

    // Focus on sort\., then save the view as "sorting".
    await page.fill("#search", "sort\\.");
    await Promise.all([page.waitForURL(/f=sort/), page.click('#refine button[data-param="f"]')]);
    const focused = await page.locator("#toptable tbody tr").count();
    assert.ok(focused > 0 && focused < all, `focused ${focused} < ${all}`);
    await page.click("#config-menu summary");
    await page.click("#save-config");
    await page.fill("#save-name", "sorting");
    await page.screenshot({ path: path.join(shots, "config-save.png") });
    await Promise.all([page.waitForEvent("load"), page.click("#save-confirm")]);
    assert.ok(existsSync(settings), "settings file written");
    const saved = JSON.parse(readFileSync(settings, "utf8"));
    assert.equal(saved.configs[0].name, "sorting");
    assert.equal(saved.configs[0].focus, "sort\\.");

    // Back to the Default view: the whole profile, Default marked.
    await page.click("#config-menu summary");
    await Promise.all([
      page.waitForURL((u) => u.search === ""),
      page.click('#config-menu a[data-config="Default"]'),
    ]);
    assert.equal(await page.locator("#toptable tbody tr").count(), all);
    assert.equal(await page.locator("#config-menu a.current").getAttribute("data-config"), "Default");

    // Pick the saved config: the focus is applied again, and the config is marked.
    await page.click("#config-menu summary");
    await page.screenshot({ path: path.join(shots, "config-menu.png") });
    await Promise.all([page.waitForURL(/f=sort/), page.click('#config-menu a[data-config="sorting"]')]);
    assert.equal(await page.locator("#toptable tbody tr").count(), focused);
    assert.match(await page.textContent("#filters"), /focus=sort\\\./);
    assert.equal(await page.locator("#config-menu a.current").getAttribute("data-config"), "sorting");

    // Delete it from the menu.
    await page.click("#config-menu summary");
    await page.click('#config-menu .menu-delete-btn[data-config="sorting"]');
    assert.equal(await page.textContent("#delete-prompt"), "Delete sorting?");
    await page.click("#delete-confirm");
    await page.locator('#config-menu a[data-config="sorting"]').waitFor({ state: "detached" });
    assert.deepEqual(JSON.parse(readFileSync(settings, "utf8")).configs, []);
    await page.reload();
    assert.equal(await page.locator('#config-menu a[data-config="sorting"]').count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    rmSync(configHome, { recursive: true, force: true });
  }
});
