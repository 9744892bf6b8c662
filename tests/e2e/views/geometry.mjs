// The Geometry view on the demo workspace: base = the lean_cnn seed trained from scratch with
// seed 0 (op train.scratch), selected = its global magnitude-pruned children at 80% and 95%.
//
// Records in `report` what the page SHOWED — every class's mean θ_y and ‖f‖ (data-value, full
// precision) for the shown model, the map's points and tree edges, the fragile/robust counts,
// the margin statistics and the occlusion cells of instance 0 — for
// tests/e2e/test_view_geometry.py to compare with `demo_ws.geometry(...)` and friends. Checks
// here need no Python: the default model is the first selected one, the map has one point per
// requested model and points − 1 edges, a click on a map point moves the per-model charts.

const VIEW = "[data-testid=view-geometry]";
const POINT = "[data-testid=geometry-class-point]";
const MAP_POINT = "[data-testid=geometry-map-point]";

function family(models) {
  const isSeed = (m) => m.operation?.name === "train.scratch" && m.name.startsWith("lean_cnn");
  const seeds = models.filter(isSeed);
  const seed = seeds.find((m) => m.name.startsWith("lean_cnn-s0")) ?? seeds[0];
  const pruned = (amount) =>
    models.find(
      (m) =>
        m.operation?.name === "prune.magnitude" &&
        m.operation.params?.amount === amount &&
        (m.operation.params?.scope ?? "global") === "global" &&
        (m.operation.parents ?? []).some((p) => p.id === seed?.id),
    );
  return { seed, p80: pruned(0.8), p95: pruned(0.95) };
}

async function readClassPoints(page) {
  return page.$$eval(POINT, (els) =>
    els.map((el) => ({
      class: Number(el.dataset.class),
      name: el.dataset.className,
      angle: Number(el.dataset.value),
      length: Number(el.dataset.length),
    })),
  );
}

async function focusShown(page, model, timeout) {
  // the view names the model and its class points are drawn from that model's answer
  await page.waitForFunction(
    ([view, point, want]) =>
      document.querySelector(view)?.dataset.focus === want.id &&
      document.querySelector("[data-testid=geometry-angle-length]")?.dataset.model === want.name &&
      document.querySelectorAll(point).length > 0,
    [VIEW, POINT, { id: model.id, name: model.name }],
    { timeout },
  );
}

export default async function ({ page, url, models, check, shot, shots, report, timeout }) {
  const slow = Math.max(timeout, 60000);
  const { seed, p80, p95 } = family(models);
  check("the demo has a lean_cnn seed with 80% and 95% pruned children", Boolean(seed && p80 && p95),
    `seed=${seed?.name} p80=${p80?.name} p95=${p95?.name}`);
  await page.goto(new URL(`?sel=${p80.id},${p95.id}&base=${seed.id}&view=geometry`, url).href);
  const view = page.locator(VIEW);
  await view.waitFor({ state: "visible", timeout: slow });

  // ---- angle vs length of the default model (the first selected)
  await focusShown(page, p80, slow);
  const dataset = await view.getAttribute("data-dataset");
  const points = await readClassPoints(page);
  check("one class point per class", points.length === 10, `${points.length} points`);
  check("class angles are finite radians", points.every((p) => p.angle > 0 && p.angle < Math.PI), JSON.stringify(points));
  const arrows = await page.locator("[data-testid=geometry-angle-length] line.arrow").count();
  check("an arrow from the base per class", arrows === points.length, `${arrows} arrows`);
  report.base = seed.id;
  report.model = p80.id;
  report.dataset = dataset;
  report.classes = points;

  // ---- the map: one point per requested model, a spanning tree
  await page.locator(MAP_POINT).first().waitFor({ timeout: slow });
  const mapIds = await page.$$eval(MAP_POINT, (els) => els.map((el) => el.dataset.modelId));
  const edges = await page.locator("[data-testid=geometry-map-edge]").count();
  const method = await page.locator("[data-testid=geometry-map]").getAttribute("data-method");
  const requested = [seed.id, p80.id, p95.id];
  check("the map has one point per requested model",
    mapIds.length === requested.length && requested.every((id) => mapIds.includes(id)), JSON.stringify(mapIds));
  check("the map's tree has points − 1 edges", edges === mapIds.length - 1, `${edges} edges for ${mapIds.length} points`);
  const methodText = (await page.locator("[data-testid=geometry-map-method]").textContent()) ?? "";
  check("the map says which layout it uses", methodText.toUpperCase().includes(method.toUpperCase()), methodText);
  await page.locator("[data-testid=color-legend]").first().waitFor();
  report.map = { ids: mapIds, edges, method };

  // ---- margins and fragile/robust samples
  await page.locator("[data-testid=geometry-margin-histogram]").waitFor({ timeout: slow });
  report.margin = await page.$$eval("[data-testid=geometry-margin-stats] tr[data-series]", (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.series, Number(r.querySelector("td[data-value]").dataset.value)])),
  );
  check("the histogram overlays base and model", Object.keys(report.margin).sort().join() === "base,model",
    JSON.stringify(report.margin));
  report.fragility = await page.$$eval("[data-testid=geometry-fragility-count]", (els) =>
    Object.fromEntries(els.map((el) => [el.dataset.group, Number(el.dataset.value)])),
  );
  const thumbs = page.locator("[data-testid=geometry-sample] img");
  report.thumbnails = await thumbs.count();
  check("fragile samples come with thumbnails", report.thumbnails > 0, `${report.thumbnails} thumbnails`);
  await thumbs.first().scrollIntoViewIfNeeded();
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=geometry-sample] img")]
    .slice(0, 4).every((img) => img.complete && img.naturalWidth > 0), null, { timeout: slow });

  // ---- parallel coordinates: one line per model
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=geometry-parallel-line]").length === 3,
    null, { timeout: slow });
  report.parallelLines = await page.locator("[data-testid=geometry-parallel-line]").count();

  // ---- occlusion of instance 0, for the base and the model
  const occl = page.locator(`[data-testid=geometry-occlusion][data-model-id="${p80.id}"]`);
  await occl.scrollIntoViewIfNeeded();
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.state === "ok" && document.querySelectorAll(`${sel} rect`).length > 0,
    `[data-testid=geometry-occlusion][data-model-id="${p80.id}"]`,
    { timeout: slow },
  );
  check("the occlusion map is for instance 0", (await occl.getAttribute("data-instance")) === "0");
  const cells = await occl.locator("[data-testid=geometry-occlusion-cell]").evaluateAll((els) =>
    els.map((el) => ({ row: Number(el.dataset.row), col: Number(el.dataset.col), value: Number(el.dataset.value) })),
  );
  const imageDrawn = await occl.locator("svg image").count();
  check("the heat map is drawn over the thumbnail", imageDrawn === 1 && cells.length > 0, `${cells.length} cells`);
  report.occlusion = { model: p80.id, index: 0, part: "margin", cells };
  const full = await shot("geometry-01-page.png");
  await shots("geometry-00-view"); // the view at 1440×900 and 1024×700
  await view.screenshot({ path: full.replace("geometry-01-page.png", "geometry-02-view.png") });

  // ---- a click on the 95% point shows that model below (the selection keeps both)
  await page.locator(`${MAP_POINT}[data-model-id="${p95.id}"] circle`).click();
  await focusShown(page, p95, slow);
  report.clicked = { model: p95.id, classes: await readClassPoints(page) };
  const selected = new URL(page.url()).searchParams.get("sel") ?? "";
  check("the click keeps both models selected", selected.includes(p80.id) && selected.includes(p95.id), selected);
  await view.screenshot({ path: full.replace("geometry-01-page.png", "geometry-03-clicked.png") });

  // ---- every model evaluated on the dataset on one map
  const onDataset = models.filter((m) => m.metrics?.[dataset] !== undefined).length;
  await page.locator("[data-testid=geometry-scope-all]").click();
  await page.waitForFunction(
    (n) => !document.querySelector("[data-testid=geometry-map-loading]") &&
      document.querySelectorAll("[data-testid=geometry-map-point]").length === n,
    onDataset,
    { timeout: slow * 2 },
  );
  const allPoints = await page.locator(MAP_POINT).count();
  const allEdges = await page.locator("[data-testid=geometry-map-edge]").count();
  check("the map of all models is a spanning tree", allEdges === allPoints - 1, `${allEdges} edges, ${allPoints} points`);
  report.mapAll = { points: allPoints, edges: allEdges, models: onDataset };
  const card = page.locator("[data-testid=geometry-map]").locator("xpath=ancestor::section[1]");
  await card.screenshot({ path: full.replace("geometry-01-page.png", "geometry-04-map-all.png") });

  // ---- the chosen model, map scope and occlusion instance are in the URL: a shared link restores them
  const index = page.locator("[data-testid=geometry-occlusion-index]");
  await index.fill("7");
  await index.press("Enter");
  await page.waitForFunction(() => new URL(location.href).searchParams.get("p.geo.occ") === "7", null, { timeout: slow });
  const shared = page.url();
  const sq = new URL(shared).searchParams;
  check(
    "the URL keeps the chosen model, map scope and occlusion instance",
    sq.get("p.geo.model") === p95.id && sq.get("p.geo.scope") === "all" && sq.get("p.geo.occ") === "7",
    shared,
  );
  await page.goto(shared, { waitUntil: "load" });
  await page.waitForFunction(
    (n) => document.querySelectorAll("[data-testid=geometry-map-point]").length === n,
    onDataset,
    { timeout: slow * 2 },
  );
  await focusShown(page, p95, slow);
  report.sharedLink = {
    focus: await page.locator("[data-testid=geometry-focus]").inputValue(),
    scopeAll: await page.locator("[data-testid=geometry-scope-all]").getAttribute("aria-pressed"),
    occlusion: await page.locator("[data-testid=geometry-occlusion]").first().getAttribute("data-instance"),
    points: await page.locator(MAP_POINT).count(),
  };
  check(
    "the shared link restores the model, the scope of the map and the occlusion instance",
    report.sharedLink.focus === p95.id && report.sharedLink.scopeAll === "true" && report.sharedLink.occlusion === "7" &&
      report.sharedLink.points === onDataset,
    JSON.stringify(report.sharedLink),
  );
}
