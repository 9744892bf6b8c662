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
//   - filter: ?filter=KEY:0.85:1 fades the models outside the range in the map and scatter;
//   - at a glance (issue 13): edges thick and coloured by the metric, roots apart, headings
//     unclipped, edge labels over no label or node at any zoom, the 0.85–0.90 models in ≥ 3
//     visibly different colours, the toolbar and "add:" buttons apart at 1024×700, ArrowDown
//     to the next row; the map at 1440×900 (map-01-demo-1440.png, the README's figure) and
//     1024×700, and zoomed in until the edge labels show (map-09-edge-labels.png).

import { dirname, join } from "node:path";

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
  // a link with an unrelated base (a fresh page starts from the selection's ancestor, start.mjs)
  const unrelated = models.find((m) => m.tags?.includes("base") && !(m.operation?.parents ?? []).length);
  await page.goto(new URL(`?sel=${kids.map((m) => m.id).join(",")}&base=${unrelated.id}`, url).href);
  const hint = page.locator("[data-testid=base-suggestion]");
  await page.locator("[data-testid=selection-row]").first().waitFor({ timeout });
  const defaultBase = new URL(page.url()).searchParams.get("base");
  report.baseSuggestion = { defaultBase, seed: seed.id, offered: (await hint.count()) ? await hint.getAttribute("data-model-id") : null };
  check("the link's base is kept (not switched silently)", defaultBase !== seed.id, JSON.stringify(report.baseSuggestion));
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

/** [r, g, b] of a CSS colour ("rgb(…)", "#rrggbb"); null for none. */
function rgbOf(colour) {
  const c = String(colour ?? "").trim();
  const hex = /^#([0-9a-f]{6})$/i.exec(c);
  if (hex) return [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16));
  const rgb = /^rgba?\(([^)]+)\)$/i.exec(c);
  if (rgb) return rgb[1].split(",").slice(0, 3).map((v) => Number(v.trim()));
  return null;
}

/** How many visibly different colours there are: a greedy set whose members all differ by ≥ `min` in RGB. */
function distinctColours(colours, min = 40) {
  const kept = [];
  for (const c of colours.map(rgbOf).filter(Boolean)) {
    if (kept.every((k) => Math.hypot(k[0] - c[0], k[1] - c[1], k[2] - c[2]) >= min)) kept.push(c);
  }
  return kept.length;
}

/**
 * Issue 13's map items, each measured before any check is made (a check that fails stops the
 * script, and the report should still say what every item looked like): thick edges coloured
 * by the metric, roots apart, headings unclipped, edge labels apart, a colour scale that
 * resolves 0.85–0.90, a toolbar that fits at 1024×700, ArrowDown to another row.
 */
async function atAGlance({ page, url, models, check, shotDir, overlap, report }) {
  const glance = (report.glance = {});
  const canvas = page.locator(MAP);
  const canvasBox = rect(await canvas.boundingBox());

  // edges: drawn width and colours of the edge paths that are not faded
  glance.edges = await page.locator("[data-testid=map-edges]").evaluateAll((els) =>
    els.map((e) => {
      const s = getComputedStyle(e);
      return { style: e.getAttribute("data-style"), stroke: s.stroke, width: parseFloat(s.strokeWidth), dashed: s.strokeDasharray !== "none" };
    }),
  );
  const plain = glance.edges.filter((e) => !String(e.style).includes("faded"));
  glance.edgeWidth = Math.min(...plain.map((e) => e.width));
  glance.edgeColours = distinctColours(plain.map((e) => e.stroke));
  glance.teacherDashed = glance.edges.filter((e) => String(e.style).includes("teacher")).every((e) => e.dashed);

  glance.edgeCount = await page.locator("[data-testid=map-edge]").count();

  // roots: no two of them drawn over each other
  const roots = models.filter((m) => !(m.operation?.parents ?? []).length);
  glance.roots = roots.map((m) => m.id);
  glance.rootOverlaps = [];
  for (let i = 0; i < roots.length; i++) {
    for (let j = i + 1; j < roots.length; j++) {
      const [a, b] = [roots[i], roots[j]].map((m) => page.locator(`${NODE}[data-model-id="${m.id}"]`));
      if (await overlap(a, b)) glance.rootOverlaps.push([roots[i].name, roots[j].name]);
    }
  }

  // column headings: each box inside the map's svg
  const svgBox = rect(await page.locator(`${MAP} svg.overlay`).boundingBox());
  glance.columns = await page.locator("[data-testid=map-column]").evaluateAll((els) =>
    els.map((e) => {
      const b = e.getBoundingClientRect();
      return { key: e.getAttribute("data-column"), box: { x: b.x, y: b.y, width: b.width, height: b.height } };
    }),
  );
  glance.svgBox = svgBox;
  glance.clippedColumns = glance.columns.filter((c) => !inside(c.box, svgBox)).map((c) => c.key);

  // colours of the models with a test accuracy in [0.85, 0.90]
  const key = new URL(page.url()).searchParams.get("color") ?? "fashion-mnist-test/accuracy";
  glance.colourKey = key;
  const acc = (m) => m.metrics?.["fashion-mnist-test"]?.accuracy;
  const close = models.filter((m) => typeof acc(m) === "number" && acc(m) >= 0.85 && acc(m) <= 0.9);
  glance.closeFills = {};
  for (const m of close) glance.closeFills[m.id] = await page.locator(`${NODE}[data-model-id="${m.id}"]`).getAttribute("fill");
  glance.closeColours = distinctColours(Object.values(glance.closeFills));

  // ArrowDown from a node in the middle of the map moves to the next row down (the nearest
  // row of nodes below, not the next node of the same column many rows further)
  const mid = models.find((m) => m.operation?.name === "prune.magnitude");
  const centreYs = async () =>
    page.locator(NODE).evaluateAll((els) =>
      Object.fromEntries(els.map((e) => {
        const b = e.getBoundingClientRect();
        return [e.getAttribute("data-model-id"), Math.round((b.y + b.height / 2) * 10) / 10];
      })),
    );
  const ys = await centreYs();
  await page.locator(`${NODE}[data-model-id="${mid.id}"]`).focus();
  await page.keyboard.press("ArrowDown");
  const down = await page.evaluate(() => document.activeElement?.getAttribute("data-model-id") ?? null);
  const rowsBelow = [...new Set(Object.values(ys))].filter((y) => y > ys[mid.id] + 1).sort((a, b) => a - b);
  glance.arrowDown = { from: mid.id, to: down, fromY: ys[mid.id], toY: down ? ys[down] : null, nextRowY: rowsBelow[0] ?? null };
  await page.keyboard.press("ArrowUp");
  glance.arrowDown.back = await page.evaluate(() => document.activeElement?.getAttribute("data-model-id") ?? null);
  await openMap(page, url, models);

  // edge labels, zooming in step by step on the CNN family (where the edges are densest):
  // at no step is a label drawn over another label or over a node
  const seed = models.find((m) => m.name.startsWith("lean_cnn") && !(m.operation?.parents ?? []).length);
  const seedBox = await page.locator(`${NODE}[data-model-id="${seed.id}"]`).boundingBox();
  await page.mouse.move(seedBox.x + seedBox.width / 2 + 60, seedBox.y + seedBox.height / 2 + 20);
  glance.labelSteps = [];
  glance.labelOverlaps = [];
  let labels = [];
  for (let step = 0; step < 12; step++) {
    await page.mouse.wheel(0, -100); // ×1.15 a step (d3-zoom's wheel delta)
    await page.waitForTimeout(220); // d3-zoom ends a wheel gesture 150 ms after the last event
    labels = await page.locator("[data-testid=edge-labels] text").evaluateAll((els) =>
      els.map((e) => {
        const b = e.getBoundingClientRect();
        return { text: e.textContent, box: { x: b.x, y: b.y, width: b.width, height: b.height } };
      }),
    );
    const circles = labels.length
      ? await page.locator(NODE).evaluateAll((els) =>
          els.map((e) => {
            const b = e.getBoundingClientRect();
            return { text: `node ${e.getAttribute("data-model-id")}`, box: { x: b.x, y: b.y, width: b.width, height: b.height } };
          }),
        )
      : [];
    let over = 0;
    for (let i = 0; i < labels.length; i++) {
      for (const other of [...labels.slice(i + 1), ...circles]) {
        if (overlaps(labels[i].box, other.box)) {
          over++;
          if (glance.labelOverlaps.length < 5) glance.labelOverlaps.push({ step, a: labels[i], b: other });
        }
      }
    }
    glance.labelSteps.push({ step, labels: labels.length, overlaps: over });
    if (labels.length >= 2 && !glance.labelShot) {
      // the map panel only: a full-page shot resizes the page, and the map refits
      glance.labelShot = join(shotDir, "map-09-edge-labels.png");
      await page.locator("section.map").screenshot({ path: glance.labelShot });
    }
  }
  await page.mouse.move(5, 5);
  glance.edgeLabels = labels.length;
  await page.locator("[data-testid=map-fit]").click();

  // 1024×700: the toolbar's controls and the "add:" buttons apart from each other and the legend
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.waitForTimeout(200);
  const boxesOf = async (sel) =>
    page.locator(sel).evaluateAll((els) =>
      els.map((e) => {
        const b = e.getBoundingClientRect();
        return { text: (e.textContent ?? "").trim().slice(0, 30), box: { x: b.x, y: b.y, width: b.width, height: b.height } };
      }),
    );
  const bar = rect(await page.locator("[aria-label='Model map controls']").boundingBox());
  const controls = await boxesOf("[aria-label='Model map controls'] button, [aria-label='Model map controls'] select");
  const expand = await boxesOf("[aria-label='Grow the selection'] button");
  const legends = await boxesOf("[data-testid=color-legend], [data-testid=size-legend]");
  const narrowCanvas = rect(await canvas.boundingBox());
  glance.narrow = { bar, controls, expand, legends, canvas: narrowCanvas, problems: [] };
  const problems = glance.narrow.problems;
  const all = [...controls, ...expand];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (overlaps(all[i].box, all[j].box)) problems.push(`${all[i].text} over ${all[j].text}`);
    }
  }
  for (const c of controls) if (!inside(c.box, bar)) problems.push(`${c.text} cut off by the toolbar`);
  for (const b of expand) for (const l of legends) if (overlaps(b.box, l.box)) problems.push(`${b.text} over the legend`);
  for (const c of controls) if (overlaps(c.box, narrowCanvas)) problems.push(`${c.text} over the map`);
  const narrowSvg = rect(await page.locator(`${MAP} svg.overlay`).boundingBox());
  for (const h of await boxesOf("[data-testid=map-column]")) if (!inside(h.box, narrowSvg)) problems.push(`heading ${h.text} clipped`);
  await page.setViewportSize({ width: 1440, height: 900 });
  await openMap(page, url, models);

  // the checks, now that everything was measured
  check("edges are drawn thick (≥ 2.5 px)", glance.edgeWidth >= 2.5, `${glance.edgeWidth}`);
  check("edges take ≥ 3 visibly different colours", glance.edgeColours >= 3, JSON.stringify(glance.edges));
  check("teacher edges stay dashed", glance.teacherDashed, JSON.stringify(glance.edges));
  check("no two root models are drawn over each other", glance.rootOverlaps.length === 0, JSON.stringify(glance.rootOverlaps));
  check("no column heading is clipped", glance.clippedColumns.length === 0, JSON.stringify({ clipped: glance.clippedColumns, svgBox }));
  check("models with accuracy 0.85–0.90 take ≥ 3 visibly different colours", glance.closeColours >= 3,
    JSON.stringify(glance.closeFills));
  check("ArrowDown moves to the next row down", glance.arrowDown.to !== null && glance.arrowDown.toY === glance.arrowDown.nextRowY,
    JSON.stringify(glance.arrowDown));
  check("ArrowUp comes back", glance.arrowDown.back === mid.id, JSON.stringify(glance.arrowDown));
  check("zoomed in, edge labels are shown", glance.labelSteps.some((s) => s.labels >= 2), JSON.stringify(glance.labelSteps));
  check("at no zoom step is an edge label drawn over another label or a node", glance.labelOverlaps.length === 0,
    JSON.stringify({ steps: glance.labelSteps, first: glance.labelOverlaps }));
  check("at 1024×700 the map's controls are apart and uncut", problems.length === 0, JSON.stringify(problems));
}

export default async function mapChecks({ page, url, models, check, shot, shots, overlap, report, timeout }) {
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
  const [wideShot] = await shots("map-01-demo");
  report.mapShot = wideShot;

  // 1b. issue 13's items: the map reads at a glance
  await atAGlance({ page, url, models, check, shotDir: dirname(wideShot), overlap, report });

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
