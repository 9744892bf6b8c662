// The starting point (issue 13, items 3 and 10): what a new user sees on load, what a reload of
// a shared link shows, and where the keyboard lands. Runs after "map", before the tabs.
// ctx.report records the header's base, the boxes seen and the focus targets; test_start.py
// compares the bases with the Python API.

import { dirname, join } from "node:path";

const WIDE = { width: 1440, height: 900 };
const NARROW = { width: 1024, height: 700 };
const SUMMARY = "[data-testid=workspace-summary]";

const parentOf = (m) => m.operation?.parents?.find((p) => p.role !== "teacher")?.id ?? m.operation?.parents?.[0]?.id;

/** The root with most descendants (through any parent), ties in the API's order. */
function mostCommonRoot(models) {
  const children = new Map();
  for (const m of models) for (const p of m.operation?.parents ?? []) children.set(p.id, [...(children.get(p.id) ?? []), m.id]);
  const count = (id) => {
    const seen = new Set();
    let frontier = children.get(id) ?? [];
    while (frontier.length) frontier = frontier.filter((c) => !seen.has(c) && seen.add(c)).flatMap((c) => children.get(c) ?? []);
    return seen.size;
  };
  const roots = models.filter((m) => !(m.operation?.parents ?? []).length);
  return roots.reduce((best, m) => (count(m.id) > count(best.id) ? m : best), roots[0]);
}

function rect(b) {
  return b ? { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) } : null;
}

/** The header's "base: NAME" entry. */
async function headerBase(page) {
  const b = page.locator(`${SUMMARY} span`, { hasText: "base:" }).locator("b");
  await b.waitFor({ state: "visible" });
  return (await b.textContent()).trim();
}

/** Whether the box shows at least `min` px of itself (or all of it) inside the viewport. */
function showsInside(box, viewport, min = 150) {
  if (!box) return false;
  const top = Math.max(box.y, 0);
  const bottom = Math.min(box.y + box.height, viewport.height);
  return bottom - top >= Math.min(min, box.height);
}

/** What has the keyboard focus: its tag, test id, text and the landmarks around it. */
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      tag: el?.tagName?.toLowerCase() ?? null,
      id: el?.id || null,
      testid: el?.getAttribute?.("data-testid") ?? null,
      text: (el?.textContent ?? "").trim().slice(0, 60),
      inTablist: Boolean(el?.closest?.("[role=tablist]")),
      inSelectionPanel: Boolean(el?.closest?.("section[aria-label='Selected models']")),
    };
  });
}

/** What the 1440×900 window itself shows (ctx.shots takes full pages). */
async function windowShot(page, folder, name) {
  await page.screenshot({ path: join(folder, `${name}-window-1440.png`) });
}

async function load(page, url, query = "") {
  await page.goto(new URL(query ? `?${query}` : "./", url).href);
  await page.locator(SUMMARY).waitFor({ state: "visible" });
}

export default async function ({ page, url, models, check, shots, report, timeout }) {
  await page.setViewportSize(WIDE);

  // 1. a fresh load: the base is the family most of the map belongs to, and the tabs show
  await load(page, url);
  const root = mostCommonRoot(models);
  report.headerBase = await headerBase(page);
  report.expectedBase = root.name;
  check("the header's base is the root with most descendants", report.headerBase === root.name,
    `header says ${report.headerBase}, the most common root is ${root.name}`);
  report.tabStrip = rect(await page.locator("[role=tablist]").boundingBox());
  check("the tab strip is inside the 1440×900 viewport on load",
    report.tabStrip !== null && report.tabStrip.y >= 0 && report.tabStrip.y + report.tabStrip.height <= WIDE.height,
    JSON.stringify(report.tabStrip));
  // at the top of the page, resizing for the 1024 shot does not move it
  const folder = dirname((await shots("start-01-load"))[0]);
  await windowShot(page, folder, "start-01-load");

  // 2. Tab from the page start: the skip link first; Enter on it lands in the tab strip
  for (const [size, viewport] of [["1440", WIDE], ["1024", NARROW]]) {
    await page.setViewportSize(viewport);
    await load(page, url);
    await page.keyboard.press("Tab");
    const first = await focused(page);
    if (size === "1024") await shots("start-02-skip-link");
    await page.keyboard.press("Enter");
    await page.waitForTimeout(100);
    const after = await focused(page);
    const tablist = rect(await page.locator("[role=tablist]").boundingBox());
    report[`skipLink${size}`] = { first, after, tablist };
    check(`${size}: the first tab stop is the skip link`, /skip to analysis views/i.test(first.text), JSON.stringify(first));
    check(`${size}: Enter on the skip link puts focus in the tab strip, on screen`,
      after.inTablist && tablist !== null && tablist.y >= 0 && tablist.y + tablist.height <= viewport.height,
      JSON.stringify({ after, tablist }));
  }
  await page.setViewportSize(WIDE);

  // 3. a reload of a shared link with a view and a selection shows that view, and the base is
  // the selection's shared ancestor (no base in the link)
  const pruned = models.filter((m) => m.operation?.name === "prune.magnitude");
  const seed = models.find((s) => s.name.startsWith("lean_cnn") && pruned.filter((m) => parentOf(m) === s.id).length >= 2);
  if (!seed) return check("a lean_cnn seed with two pruned children", false);
  const kids = pruned.filter((m) => parentOf(m) === seed.id).slice(0, 2);
  await load(page, url, `sel=${kids.map((m) => m.id).join(",")}&view=layers`);
  await page.reload();
  const panel = page.locator("[data-testid=tabpanel][data-view=layers]");
  await panel.waitFor({ state: "visible" });
  // the app scrolls once the models are in; give it a moment (not a timed assertion)
  await page.waitForFunction((vh) => {
    const b = document.querySelector("[data-testid=tabpanel][data-view=layers]")?.getBoundingClientRect();
    return b && Math.min(b.bottom, vh) - Math.max(b.top, 0) >= Math.min(150, b.height);
  }, WIDE.height, { timeout: 3000 }).catch(() => {});
  const restored = rect(await panel.boundingBox());
  report.restored = {
    selected: kids.map((m) => m.id),
    panel: restored,
    scrollY: await page.evaluate(() => window.scrollY),
    base: new URL(page.url()).searchParams.get("base"),
    headerBase: await headerBase(page),
  };
  check("a reload with view=layers shows the layers tab panel inside the viewport", showsInside(restored, WIDE),
    JSON.stringify(report.restored));
  check("the base of a restored selection is their shared ancestor", report.restored.base === seed.id,
    `base ${report.restored.base}, shared ancestor ${seed.id} (${seed.name})`);
  await windowShot(page, folder, "start-03-restored-layers"); // before resizing moves the scroll
  await shots("start-03-restored-layers");

  // 4. Enter on the base suggestion (an unrelated base in the link) keeps focus in the panel
  const unrelated = models.find((m) => !(m.operation?.parents ?? []).length && m.id !== seed.id && !models.some((k) => parentOf(k) === m.id));
  await load(page, url, `sel=${kids.map((m) => m.id).join(",")}&base=${unrelated.id}`);
  const apply = page.locator("[data-testid=base-suggestion-apply]");
  await apply.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction((id) => new URL(location.href).searchParams.get("base") === id, seed.id, { timeout });
  report.suggestionFocus = { unrelated: unrelated.name, base: seed.id, focus: await focused(page) };
  check("Enter on the base suggestion leaves the focus in the selection panel",
    report.suggestionFocus.focus.inSelectionPanel, JSON.stringify(report.suggestionFocus));
  await shots("start-04-base-suggestion-applied");
}
