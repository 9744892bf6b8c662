// Browser checks of the Model Map and the trade-off scatter, on the demo workspace.
//
// `export default async function (ctx)` with the ctx of the view scripts (see drive.mjs):
// { page, url, models, api, check, shot, report, timeout }. It records in `report` what the page
// showed (ids, boxes, labels), so that tests/e2e/test_map.py can compare them with the Python
// API; the checks here are only the ones that need no Python (the page reacted at all).
//
//   - layout: the standalone models (no parent, no child) are inside the map canvas and do
//     not overlap the legend (bounding boxes);
//   - box selection: a box drawn over one column in Box mode, and a shift-drag over another
//     without it, select that column's models (read back from the URL's ?sel=);
//   - edges: hovering a derived model, or the edge itself, lights the edge from its parent with a
//     label naming the operation and its parameters, and the tooltip gives the change versus the
//     parent;
//   - keyboard: one node is in the tab order, arrow keys move between nodes, Enter selects;
//   - filter: ?filter=KEY:0.85:1 fades the models outside the range in the map and scatter.

import { scatterBehaviourFrontier } from "./map_pareto.mjs";

const MAP = "[data-testid=model-map]";
const NODE = "[data-testid=map-node]";

/** The scatter's points in x order (ties by y, then id), from the models' own metrics. */
function expectedScatterOrder(models, xKey, yKey) {
  const value = (m, key) => {
    const i = key.indexOf("/");
    const [group, name] = i < 0 ? ["model", key] : [key.slice(0, i), key.slice(i + 1)];
    const v = m.metrics?.[group]?.[name];
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  };
  return models
    .map((m) => ({ id: m.id, x: value(m, xKey), y: value(m, yKey) }))
    .filter((p) => p.x !== null && p.y !== null)
    .sort((a, b) => a.x - b.x || a.y - b.y || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((p) => p.id);
}

async function scatterKeyboard({ page, models, check, shot, report, timeout }) {
  const scatter = page.locator("[data-testid=scatter]");
  const active = () => scatter.getAttribute("data-active");
  const isScatter = () => page.evaluate(() => document.activeElement?.getAttribute("data-testid") === "scatter");
  // reach it with Tab, as a keyboard user would (the map's nodes are one stop, the points none)
  let presses = 0;
  for (; presses < 60 && !(await isScatter()); presses++) await page.keyboard.press("Tab");
  check("Tab reaches the scatter", await isScatter(), `${presses} presses`);
  const q = new URL(page.url()).searchParams;
  const order = expectedScatterOrder(models, q.get("x"), q.get("y"));
  const visited = [await active()];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("ArrowRight");
    visited.push(await active());
  }
  await page.keyboard.press("ArrowLeft");
  visited.push(await active());
  await page.keyboard.press("End");
  visited.push(await active());
  report.scatterKeyboard = { presses, visited, expected: [...order.slice(0, 4), order[2], order[order.length - 1]] };
  check("arrow keys step through the scatter's points in x order",
    JSON.stringify(visited) === JSON.stringify(report.scatterKeyboard.expected), JSON.stringify(report.scatterKeyboard));
  const ring = page.locator("[data-testid=scatter-focus]");
  const tip = page.locator("[data-testid=scatter-tooltip]");
  const last = order[order.length - 1];
  const name = models.find((m) => m.id === last)?.name ?? last;
  report.scatterKeyboard.ring = (await ring.count()) ? await ring.getAttribute("data-model-id") : null;
  report.scatterKeyboard.tooltip = (await tip.count()) ? ((await tip.textContent()) ?? "") : "";
  report.scatterKeyboard.activedescendant = await scatter.getAttribute("aria-activedescendant");
  check("the focused point has a ring, a tooltip and is the active descendant",
    report.scatterKeyboard.ring === last && report.scatterKeyboard.tooltip.includes(name) &&
      report.scatterKeyboard.activedescendant === `scatter-pt-${last}`,
    JSON.stringify(report.scatterKeyboard));
  // ring and tooltip are drawn over the point itself
  const [ringBox, pointBox] = [await ring.boundingBox(), await page.locator(`[data-testid=scatter-point][data-model-id="${last}"]`).boundingBox()];
  const centre = (b) => [b.x + b.width / 2, b.y + b.height / 2];
  check("the ring surrounds the focused point",
    Math.hypot(centre(ringBox)[0] - centre(pointBox)[0], centre(ringBox)[1] - centre(pointBox)[1]) < 1.5 && ringBox.width > pointBox.width,
    JSON.stringify({ ringBox, pointBox }));
  await page.locator("[data-testid=scatter]").screenshot({ path: (await shot("map-05-scatter-keyboard.png")).replace("map-05-scatter-keyboard.png", "map-06-scatter-keyboard-chart.png") });

  // Enter selects the focused point alone; shift+Enter on another adds it, then removes it
  await page.keyboard.press("Enter");
  const one = await selectedFromUrl(page, true, "", timeout);
  await page.keyboard.press("Home");
  await page.keyboard.press("Shift+Enter");
  const two = await selectedFromUrl(page, true, one.join(","), timeout);
  await page.keyboard.press("Shift+Enter");
  const back = await selectedFromUrl(page, true, two.join(","), timeout);
  report.scatterKeyboard.selections = { one, two, back };
  check("Enter selects, shift+Enter toggles",
    JSON.stringify(one) === JSON.stringify([last]) && new Set(two).size === 2 && two.includes(order[0]) && two.includes(last) &&
      JSON.stringify(back) === JSON.stringify([last]),
    JSON.stringify(report.scatterKeyboard.selections));
  const pressed = await page.locator(`[data-testid=scatter-point][data-model-id="${last}"]`).getAttribute("aria-selected");
  check("the selected point says so (aria-selected)", pressed === "true", String(pressed));
}

async function baseSuggestion({ page, url, models, check, shot, report, timeout }) {
  const parent = (m) => m.operation?.parents?.find((p) => p.role !== "teacher")?.id ?? m.operation?.parents?.[0]?.id;
  const pruned = models.filter((m) => m.operation?.name === "prune.magnitude");
  const seed = models.find((s) => s.name.startsWith("lean_cnn") && pruned.filter((m) => parent(m) === s.id).length >= 2);
  if (!seed) return check("a lean_cnn seed with two pruned children", false);
  const kids = pruned.filter((m) => parent(m) === seed.id).slice(0, 2);
  await page.goto(new URL(`?sel=${kids.map((m) => m.id).join(",")}`, url).href);
  const hint = page.locator("[data-testid=base-suggestion]");
  await page.locator("[data-testid=selection-row]").first().waitFor({ timeout });
  const defaultBase = new URL(page.url()).searchParams.get("base");
  report.baseSuggestion = { defaultBase, seed: seed.id, offered: (await hint.count()) ? await hint.getAttribute("data-model-id") : null };
  check("the default base is kept (not switched silently)", defaultBase !== seed.id, JSON.stringify(report.baseSuggestion));
  check("the selection panel offers the shared ancestor as the base", report.baseSuggestion.offered === seed.id,
    JSON.stringify(report.baseSuggestion));
  await page.locator("[data-testid=selection]").locator("xpath=..").screenshot({
    path: (await shot("map-07-base-suggestion.png")).replace("map-07-base-suggestion.png", "map-08-base-suggestion-panel.png"),
  });
  await page.locator("[data-testid=base-suggestion-apply]").click();
  await page.waitForFunction((id) => new URL(location.href).searchParams.get("base") === id, seed.id, { timeout });
  report.baseSuggestion.after = { base: new URL(page.url()).searchParams.get("base"), offered: await hint.count() };
  check("one click makes it the base and the offer goes away", report.baseSuggestion.after.offered === 0,
    JSON.stringify(report.baseSuggestion.after));
}

function rect(b) {
  return b ? { x: b.x, y: b.y, width: b.width, height: b.height } : null;
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(a, outer) {
  return a.x >= outer.x && a.y >= outer.y && a.x + a.width <= outer.x + outer.width && a.y + a.height <= outer.y + outer.height;
}

async function selectedFromUrl(page, expectChange, before, timeout) {
  // the app keeps the selection in ?sel= (history.replaceState after each change)
  const deadline = Date.now() + timeout;
  let sel = before;
  while (Date.now() < deadline) {
    sel = new URL(page.url()).searchParams.get("sel") ?? "";
    if (!expectChange || sel !== before) break;
    await page.waitForTimeout(50);
  }
  return sel ? sel.split(",").filter(Boolean) : [];
}

async function openMap(page, url, models, query = "") {
  await page.goto(new URL(query ? `?${query}` : "./", url).href);
  await page.waitForFunction(
    ([sel, n]) => document.querySelectorAll(sel).length >= n,
    [NODE, models.length],
  );
  await page.waitForTimeout(300); // the fit transition of d3-zoom is immediate; let layout settle
}

async function nodeBox(page, id) {
  return rect(await page.locator(`${NODE}[data-model-id="${id}"]`).boundingBox());
}

/** Drag a box over every node of `ids` (their column), optionally holding shift. */
async function boxOverColumn(page, ids, { shift }) {
  const canvas = rect(await page.locator(MAP).boundingBox());
  const boxes = await Promise.all(ids.map((id) => nodeBox(page, id)));
  const cx = boxes[0].x + boxes[0].width / 2;
  const top = Math.min(...boxes.map((b) => b.y)) - 4;
  const bottom = Math.max(...boxes.map((b) => b.y + b.height)) + 4;
  const x0 = cx - 12;
  const x1 = cx + 12;
  const y0 = Math.max(canvas.y + 72, top);
  const y1 = Math.min(canvas.y + canvas.height - 2, bottom);
  if (shift) await page.keyboard.down("Shift");
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 4 });
  await page.mouse.move(x1, y1, { steps: 4 });
  await page.mouse.up();
  if (shift) await page.keyboard.up("Shift");
  return { canvas, box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, nodeBoxes: boxes };
}

export default async function mapChecks({ page, url, models, check, shot, shots, report, timeout }) {
  const children = new Map();
  for (const m of models) for (const p of m.operation?.parents ?? []) children.set(p.id, (children.get(p.id) ?? 0) + 1);
  const opOf = (m) => m.operation?.name ?? null;

  // 1. layout: standalone models clear of the legend
  await openMap(page, url, models);
  const canvas = rect(await page.locator(MAP).boundingBox());
  const legend = rect(await page.locator("[data-testid=color-legend]").boundingBox());
  const standalone = models.filter((m) => !(m.operation?.parents ?? []).length && !children.get(m.id));
  report.canvas = canvas;
  report.legend = legend;
  report.standalone = [];
  for (const m of standalone) {
    const box = await nodeBox(page, m.id);
    report.standalone.push({ id: m.id, name: m.name, box });
    check(`standalone ${m.name} is in the map canvas`, box !== null && inside(box, canvas), JSON.stringify({ box, canvas }));
    check(`standalone ${m.name} does not overlap the legend`, !overlaps(box, legend), JSON.stringify({ box, legend }));
  }
  report.tabbable = await page.locator(`${NODE}[tabindex="0"]`).count();
  check("one map node is in the tab order", report.tabbable === 1, `${report.tabbable}`);
  await shot("map-01-demo.png");

  // 2. box selection in Box mode over the prune.magnitude column
  const columnIds = (op) => models.filter((m) => opOf(m) === op).map((m) => m.id);
  const transformBefore = await page.locator("[data-testid=map-viewport]").getAttribute("transform");
  await page.locator("[data-testid=box-toggle]").click();
  const boxDrag = await boxOverColumn(page, columnIds("prune.magnitude"), { shift: false });
  report.boxColumn = "prune.magnitude";
  report.boxDrawn = boxDrag.box;
  report.boxSelected = await selectedFromUrl(page, true, "", timeout);
  check("a box in Box mode selects models", report.boxSelected.length > 0, JSON.stringify(boxDrag));
  report.boxPanned = (await page.locator("[data-testid=map-viewport]").getAttribute("transform")) !== transformBefore;
  check("a box does not pan the map", !report.boxPanned, "");
  await shot("map-02-box-selected.png");
  await page.locator("[data-testid=box-toggle]").click();

  // ... and a shift-drag, Box mode off, over the train.scratch column
  const beforeShift = (new URL(page.url()).searchParams.get("sel") ?? "");
  await boxOverColumn(page, columnIds("train.scratch"), { shift: true });
  report.shiftColumn = "train.scratch";
  report.shiftSelected = await selectedFromUrl(page, true, beforeShift, timeout);
  check("a shift-drag selects models", report.shiftSelected.length > 0, "");

  // 3. edges: hover a pruned model -> its incoming edge is labelled, the tooltip compares
  const pruned = models.find((m) => opOf(m) === "prune.magnitude" && m.operation.params?.amount !== undefined);
  await page.mouse.move(5, 5);
  await page.locator(`${NODE}[data-model-id="${pruned.id}"]`).hover();
  const label = page.locator("[data-testid=edge-label]");
  await label.waitFor({ state: "visible" });
  report.edgeLabel = { id: pruned.id, text: (await label.textContent()) ?? "" };
  const tip = page.locator("[data-testid=map-tooltip]");
  report.tooltip = { id: pruned.id, text: (await tip.textContent()) ?? "" };
  check("the edge label names the operation", report.edgeLabel.text.includes("prune.magnitude"), report.edgeLabel.text);
  await shot("map-03-edge-label.png");
  await page.mouse.move(5, 5);

  // ... and hovering an edge itself (the flattest one: its box's centre lies on the line)
  const flat = await page.locator("[data-testid=map-edge]").evaluateAll((els) => {
    const boxes = els.map((e) => ({ e, b: e.getBoundingClientRect() })).filter(({ b }) => b.width > 30);
    boxes.sort((a, b) => a.b.height - b.b.height);
    const { b } = boxes[0];
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  });
  await page.mouse.move(flat.x, flat.y);
  report.edgeHover = await page.evaluate(({ x, y }) => {
    const hit = document.elementFromPoint(x, y);
    return {
      source: hit?.getAttribute("data-source") ?? null,
      target: hit?.getAttribute("data-target") ?? null,
      tooltip: document.querySelector("[data-testid=map-tooltip]")?.textContent ?? "",
      label: document.querySelector("[data-testid=edge-label]")?.textContent ?? "",
    };
  }, flat);
  check("hovering an edge shows its tooltip", report.edgeHover.source !== null && report.edgeHover.tooltip !== "",
    JSON.stringify(report.edgeHover));
  await page.mouse.move(5, 5);

  // 4. keyboard: Tab stop, arrows, Enter
  await openMap(page, url, models);
  const first = page.locator(`${NODE}[tabindex="0"]`);
  await first.focus();
  const focused = async () => page.evaluate(() => document.activeElement?.getAttribute("data-model-id") ?? null);
  report.keyboard = [await focused()];
  for (const key of ["ArrowDown", "ArrowDown", "ArrowRight"]) {
    await page.keyboard.press(key);
    report.keyboard.push(await focused());
  }
  await page.keyboard.press("Enter");
  report.keyboardSelected = await selectedFromUrl(page, true, "", timeout);
  check("Enter selects the focused node", report.keyboardSelected.length === 1, JSON.stringify(report.keyboardSelected));

  // 4b. the scatter by keyboard: one Tab stop, arrows in x order, a ring and a tooltip, Enter
  // selects and shift+Enter toggles
  await openMap(page, url, models);
  await scatterKeyboard({ page, models, check, shot, report, timeout });

  // 4c. two pruned children of a lean_cnn seed with the default base (another architecture):
  // the selection panel offers their shared ancestor, and one click makes it the base
  await baseSuggestion({ page, url, models, check, shot, report, timeout });

  // 5. a metric filter set in the URL fades the models outside it
  const key = "fashion-mnist-test/accuracy";
  report.filterKey = key;
  await openMap(page, url, models, `filter=${key}:0.85:1`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute("data-filtering") === "true", MAP);
  report.fadedMap = await page.locator(`${NODE}[data-faded=true]`).evaluateAll((els) => els.map((e) => e.getAttribute("data-model-id")));
  report.fadedScatter = await page
    .locator("[data-testid=scatter-point][data-faded=true]")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-model-id")));
  report.scatterIds = await page
    .locator("[data-testid=scatter-point]")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-model-id")));
  report.scatterPoints = report.scatterIds.length;
  check("the filter fades some models", report.fadedMap.length > 0, "");
  await shot("map-04-filtered.png");

  // 6. behaviour metrics as the scatter's axes: size × negative flip rate, frontier ringed
  await scatterBehaviourFrontier({ page, url, check, shots, report, timeout });

  // leave the page as found: no filter, no selection
  await openMap(page, url, models);
}
