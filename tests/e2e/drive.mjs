// Drive Debian's chromium (through playwright-core) against a running compresslens server.
//
//   node drive.mjs URL
//   env: E2E_SCREENSHOTS (folder, default ../../build/e2e-screenshots), E2E_TIMEOUT_MS
//
// Checks what every version of the front end must show: the page loads, its title names
// compresslens, every model of /api/models appears, nothing is logged as an error. Where the
// Svelte views mark their elements (data-testid="map-node" with data-model-id,
// data-testid="selection"), it also clicks a map node and checks the selection panel names
// that model; where the Behaviours panel exists (data-testid="behaviours"), it checks a
// behaviour-cell's data-delta against /api/compare's per-class delta.
//
// E2E_VIEWS=all (or a comma list) then runs each view's script, views/<name>.mjs, in order:
// "map" (the Model Map and scatter) first, then every tab the page shows.
// A view script exports `default async function (ctx)` with ctx = { page, url, models, api,
// check, shot, shots, overlap, report, timeout } and records what it saw in ctx.report (report.views[name]),
// so that the pytest side can compare those numbers with the Python API; ctx.expectError(part)
// excuses the error answers whose URL contains `part` (provoked on purpose). A failing view is
// recorded and the next view still runs. The page is 1440×900 (the size the issues name);
// ctx.shots(name) also takes the 1024×700 screenshot (name-1440.png and name-1024.png), and
// ctx.overlap(a, b) says whether two locators' bounding boxes intersect.
// Prints one JSON line with what it saw; exits 1 if any check failed.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./chromium.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const url = process.argv[2];
if (!url) {
  console.error("usage: node drive.mjs URL");
  process.exit(2);
}
const shots = resolve(process.env.E2E_SCREENSHOTS ?? join(here, "..", "..", "build", "e2e-screenshots"));
const shotDir = shots; // the views' ctx.shots (below) shadows the name
const timeout = Number(process.env.E2E_TIMEOUT_MS ?? 15000);
const WIDE = { width: 1440, height: 900 };
const NARROW = { width: 1024, height: 700 };

// "all" = every tab the page shows, in its order (read once the page has loaded), so a new
// view without an e2e script fails instead of going untested
const requestedViews = (process.env.E2E_VIEWS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const report = { url, checks: [], screenshots: [], consoleErrors: [], views: {}, viewErrors: {} };
// error answers a view provokes on purpose (a bad selector, an unevaluated dataset): a view
// script calls ctx.expectError(substring of the URL) before provoking one
const expectedErrors = [];
const check = (name, ok, detail = "") => {
  report.checks.push({ name, ok, detail });
  if (!ok) throw new Error(`${name}: ${detail}`);
};

const models = await (await fetch(new URL("/api/models", url))).json().then((b) => b.models);
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "compresslens-e2e-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: WIDE,
});
let failed = null;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  page.on("console", (msg) => {
    if (msg.type() === "error") report.consoleErrors.push(msg.text());
  });
  page.on("requestfailed", (req) => {
    // a request cut short by navigating away (or by the app aborting a stale fetch) is no error
    const why = req.failure()?.errorText ?? "";
    if (why.includes("ERR_ABORTED")) return;
    report.consoleErrors.push(`request failed: ${req.url()} (${why})`);
  });
  page.on("pageerror", (err) => report.consoleErrors.push(`uncaught: ${err.message}`));
  // a failed load is logged without its address; record the responses to name it
  page.on("response", (res) => {
    if (res.status() >= 400 && new URL(res.url()).pathname !== "/favicon.ico") {
      report.consoleErrors.push(`HTTP ${res.status()} ${res.url()}`);
    }
  });

  const response = await page.goto(url, { waitUntil: "load" });
  check("page loads", response !== null && response.ok(), `status ${response?.status()}`);
  check("title names compresslens", /compresslens/i.test(await page.title()), await page.title());

  // every model shows up: as text, in a label, or as a map node carrying its id
  const missing = async () =>
    page.evaluate((list) => {
      const text = `${document.body.innerText}\n${document.body.textContent}`;
      const labels = [...document.querySelectorAll("[title],[aria-label]")]
        .map((el) => `${el.getAttribute("title") ?? ""} ${el.getAttribute("aria-label") ?? ""}`)
        .join("\n");
      const ids = new Set(
        [...document.querySelectorAll("[data-model-id]")].map((el) => el.dataset.modelId),
      );
      return list
        .filter((m) => !text.includes(m.name) && !labels.includes(m.name) && !ids.has(m.id))
        .map((m) => m.name);
    }, models);
  const deadline = Date.now() + timeout;
  let absent = await missing();
  while (absent.length && Date.now() < deadline) {
    await page.waitForTimeout(200);
    absent = await missing();
  }
  check("every model is shown", absent.length === 0, `missing: ${absent.join(", ")}`);
  await page.screenshot({ path: join(shots, "01-loaded.png"), fullPage: true });
  report.screenshots.push(join(shots, "01-loaded.png"));

  const nodes = page.locator("[data-testid=map-node]");
  report.mapNodes = await nodes.count();
  if (report.mapNodes > 0) {
    const node = nodes.last();
    const id = await node.getAttribute("data-model-id");
    const model = models.find((m) => m.id === id);
    check("map node names a model", model !== undefined, `data-model-id=${id}`);
    // click the node's mark, not the middle of its box (a label may widen a <g>)
    const mark = node.locator("circle, rect, ellipse, path, polygon");
    await ((await mark.count()) > 0 ? mark.first() : node).click();
    const panel = page.locator("[data-testid=selection]").first();
    await panel.waitFor({ state: "visible" });
    await page
      .waitForFunction(
        ([sel, m]) => {
          const el = document.querySelector(sel);
          return el !== null && (el.textContent.includes(m.name) || el.textContent.includes(m.id));
        },
        ["[data-testid=selection]", model],
        { timeout },
      )
      .catch(() => {});
    const shown = (await panel.textContent()) ?? "";
    check("selection shows the clicked model", shown.includes(model.name) || shown.includes(model.id),
      `clicked ${model.name}; panel says ${JSON.stringify(shown.slice(0, 200))}`);
    report.selected = model.name;
    await page.screenshot({ path: join(shots, "02-selected.png"), fullPage: true });
    report.screenshots.push(join(shots, "02-selected.png"));

    // Behaviours view: a cell's Δ must equal the API's per-class delta for that class
    const behaviours = page.locator("[data-testid=behaviours]");
    if ((await behaviours.count()) > 0) {
      const baseId = await behaviours.first().getAttribute("data-base");
      const dataset = await behaviours.first().getAttribute("data-dataset");
      if (!baseId || baseId === model.id || !dataset) {
        report.behaviours = { skipped: `base=${baseId} selected=${model.id} dataset=${dataset}` };
      } else {
        const cell = page.locator(`[data-testid=behaviour-cell][data-model-id="${model.id}"]:not([data-delta=""])`).first();
        await cell.waitFor({ state: "attached" });
        const delta = Number(await cell.getAttribute("data-delta"));
        const cls = await cell.evaluate((el) => el.closest("[data-testid=behaviour-row]")?.getAttribute("data-class"));
        const q = new URLSearchParams({ base: baseId, model: model.id, dataset, n_boot: "200" });
        const api = await (await fetch(new URL(`/api/compare?${q}`, url))).json();
        const row = (api.per_class ?? []).find((c) => String(c.class) === cls);
        check("behaviour cell matches /api/compare", row !== undefined && Math.abs(row.delta - delta) <= 1e-9,
          `class ${cls}: cell ${delta}, API ${row?.delta}`);
        report.behaviours = { base: baseId, model: model.id, dataset, class: cls, delta,
          rows: await page.locator("[data-testid=behaviour-row]").count() };
        await page.screenshot({ path: join(shots, "03-behaviours.png"), fullPage: true });
        report.screenshots.push(join(shots, "03-behaviours.png"));
      }
    }
  }
  const tabs = await page.$$eval("[role=tab][data-testid^=tab-]", (els) => els.map((el) => el.dataset.testid.slice(4)));
  // "map" (views/map.mjs) checks the Model Map and scatter, "start" (views/start.mjs) the page's
  // starting point and skip link, "verdict" the selection panel's verdict badge; none has a tab
  const wantedViews = requestedViews.flatMap((v) => (v === "all" ? ["map", "start", "verdict", ...tabs] : [v]));
  report.tabs = tabs;
  if (requestedViews.includes("all")) check("the page shows analysis tabs", tabs.length > 0, "no [role=tab]");
  for (const name of wantedViews) {
    const viewReport = (report.views[name] = {});
    const viewCheck = (what, ok, detail = "") => {
      report.checks.push({ name: `${name}: ${what}`, ok, detail, view: name });
      if (!ok) throw new Error(`${name}: ${what}: ${detail}`);
    };
    const shot = async (file) => {
      const path = join(shotDir, file);
      await page.screenshot({ path, fullPage: true });
      report.screenshots.push(path);
      return path;
    };
    // the view at both sizes the issues name; the page is left at 1440×900
    const shotPair = async (name) => {
      await page.setViewportSize(NARROW);
      await page.waitForTimeout(150);
      const narrow = await shot(`${name}-1024.png`);
      await page.setViewportSize(WIDE);
      await page.waitForTimeout(150);
      return [await shot(`${name}-1440.png`), narrow];
    };
    // two elements drawn on top of each other (a label over a button): their boxes intersect
    const overlap = async (a, b) => {
      const [p, q] = [await a.boundingBox(), await b.boundingBox()];
      if (!p || !q) return false;
      return p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
    };
    const api = async (path, params = {}) => {
      const target = new URL(path.replace(/^\//, ""), url);
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) target.searchParams.set(k, String(v));
      for (;;) {
        const r = await fetch(target);
        const body = await r.json().catch(() => null);
        if (r.status === 202) { await new Promise((res) => setTimeout(res, 300)); continue; }
        if (!r.ok) throw new Error(`GET ${target} answered ${r.status}: ${JSON.stringify(body)}`);
        return body;
      }
    };
    try {
      const mod = await import(join(here, "views", `${name}.mjs`));
      if (tabs.includes(name)) {
        await page.locator(`[data-testid=tab-${name}]`).click();
        await page.locator(`[data-testid=view-${name}]`).waitFor({ state: "visible" });
      }
      const expectError = (part) => expectedErrors.push(part);
      await mod.default({ page, url, models, api, check: viewCheck, shot, shots: shotPair, overlap, report: viewReport, timeout, expectError });
    } catch (err) {
      report.viewErrors[name] = String(err?.stack ?? err);
      if (!report.checks.some((c) => c.view === name && !c.ok)) {
        report.checks.push({ name: `${name}: ran`, ok: false, detail: String(err?.message ?? err), view: name });
      }
      await page.screenshot({ path: join(shots, `failed-${name}.png`), fullPage: true }).catch(() => {});
    }
  }
  const errors = report.consoleErrors.filter(
    (e) => !e.startsWith("Failed to load resource") && !expectedErrors.some((part) => e.includes(part)),
  );
  report.expectedErrors = expectedErrors;
  check("no console errors", errors.length === 0, errors.join(" | "));
} catch (err) {
  failed = err;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
// the report goes to a file when asked: a pipe's 64 KiB buffer is not flushed by an exit
if (process.env.E2E_REPORT) writeFileSync(process.env.E2E_REPORT, JSON.stringify(report));
else console.log(JSON.stringify(report));
const failedChecks = report.checks.filter((c) => !c.ok);
if (!failed && failedChecks.length) failed = new Error(failedChecks.map((c) => `${c.name}: ${c.detail}`).join(" | "));
if (failed) {
  console.error(`e2e failed: ${failed.message}`);
  process.exit(1);
}
