// Robustness view on the demo workspace: base = a lean_cnn seed, selected = its 80% and 95%
// magnitude-pruned children; 2 corruptions × 2 severities on the first 200 images (fast).
// Chooses those settings with the view's own controls, computes (or finds the stored sweep),
// and records every cell the table shows (data-accuracy, data-drop at full precision) for
// test_view_robustness.py to compare with `demo_ws.robustness(...)`. Then clicks a model's row
// and checks the app's selection (URL, map) follows.
const CORRUPTIONS = ["gaussian_noise", "contrast"];
const SEVERITIES = [1, 5];
const LIMIT = 200;
const VIEW = "[data-testid=view-robustness]";

function findFamily(models) {
  const seeds = models
    .filter((m) => m.operation?.name === "train.scratch" && m.name.startsWith("lean_cnn-s"))
    .sort((a, b) => a.name.localeCompare(b.name));
  const childOf = (base, amount) =>
    models.find(
      (m) =>
        m.operation?.name === "prune.magnitude" &&
        Number(m.operation?.params?.amount) === amount &&
        (m.operation?.parents ?? []).some((p) => p.id === base.id),
    );
  for (const base of seeds) {
    const [c80, c95] = [childOf(base, 0.8), childOf(base, 0.95)];
    if (c80 && c95) return { base, children: [c80, c95] };
  }
  return null;
}

async function readCells(page) {
  return page.$$eval("[data-testid=robustness-cell]", (cells) =>
    cells.map((c) => ({
      model: c.dataset.model,
      corruption: c.dataset.corruption,
      severity: Number(c.dataset.severity),
      accuracy: c.dataset.accuracy === "" ? null : Number(c.dataset.accuracy),
      drop: c.dataset.drop === "" ? null : Number(c.dataset.drop),
      text: c.querySelector(".acc")?.textContent ?? "",
    })),
  );
}

export default async function ({ page, url, api, check, shot, shots, report, timeout }) {
  const slow = Math.max(timeout, 120000); // a fresh workspace runs 3 models × 5 conditions
  const models = (await api("/api/models")).models;
  const family = findFamily(models);
  check("a lean_cnn seed with 80% and 95% magnitude-pruned children exists", family !== null);
  const { base, children } = family;
  report.base = base.id;
  report.models = children.map((m) => m.id);
  report.names = Object.fromEntries([base, ...children].map((m) => [m.id, m.name]));
  report.corruptions = CORRUPTIONS;
  report.severities = SEVERITIES;
  report.limit = LIMIT;

  await page.goto(new URL(`?sel=${children.map((m) => m.id).join(",")}&base=${base.id}&view=robustness`, url).href);
  const view = page.locator(VIEW);
  await view.waitFor({ state: "visible" });

  // the settings, through the controls (the default would be 3 × 3 on 500 images)
  for (const box of await view.locator("[data-testid=robustness-corruption]").all()) {
    await box.setChecked(CORRUPTIONS.includes(await box.getAttribute("value")));
  }
  for (const box of await view.locator("[data-testid=robustness-severity]").all()) {
    await box.setChecked(SEVERITIES.includes(Number(await box.getAttribute("value"))));
  }
  await view.locator("[data-testid=robustness-limit]").selectOption(String(LIMIT));
  report.dataset = await view.locator("[data-testid=robustness-dataset]").inputValue();

  // watch for the progress bar from now on (it may come and go between two polls of ours)
  await page.evaluate(() => {
    window.__robustnessProgress = 0;
    const seen = () => {
      if (document.querySelector("[data-testid=robustness-progress]")) window.__robustnessProgress += 1;
    };
    new MutationObserver(seen).observe(document.body, { childList: true, subtree: true });
    seen();
  });
  // a stored sweep shows at once; otherwise the view offers to compute it
  await page.waitForFunction(
    () =>
      document.querySelector("[data-testid=robustness-result]") ||
      document.querySelector("[data-testid=robustness-missing]") ||
      document.querySelector("[data-testid=robustness-progress]"),
    null,
    { timeout: slow },
  );
  report.clickedRun = (await view.locator("[data-testid=robustness-missing]").count()) > 0;
  if (report.clickedRun) {
    await shot("80-robustness-missing.png");
    await view.locator("[data-testid=robustness-run]").click();
    await view.locator("[data-testid=robustness-progress]").waitFor({ state: "attached", timeout: slow }).catch(() => {});
    if (await view.locator("[data-testid=robustness-progress]").count()) await shot("81-robustness-progress.png");
  }
  await view.locator("[data-testid=robustness-result]").waitFor({ state: "visible", timeout: slow });
  report.sawProgress = (await page.evaluate(() => window.__robustnessProgress)) > 0;
  report.fromCache = (await view.locator("[data-testid=robustness-result]").getAttribute("data-computed-here")) === "false";
  check(
    "the progress bar was shown, or the table came from the store",
    report.sawProgress || report.fromCache,
    JSON.stringify({ sawProgress: report.sawProgress, fromCache: report.fromCache }),
  );

  report.cells = await readCells(page);
  report.rows = await page.$$eval("[data-testid=robustness-row]", (rows) => rows.map((r) => r.dataset.model));
  report.meanDrops = await page.$$eval("[data-testid=robustness-row]", (rows) =>
    Object.fromEntries(
      rows.map((r) => {
        const v = r.querySelector("[data-testid=robustness-mean]").dataset.value;
        return [r.dataset.model, v === "" ? null : Number(v)];
      }),
    ),
  );
  report.legendExtent = Number(await view.locator("[data-testid=robustness-legend]").getAttribute("data-extent"));
  check("a row per model, the base first", report.rows.length === 3 && report.rows[0] === base.name, JSON.stringify(report.rows));
  check("a cell per model and condition", report.cells.length === 3 * (1 + 2 * 2), `${report.cells.length} cells`);
  const answer = await api("/api/robustness", {
    models: report.models.join(","),
    base: base.id,
    dataset: report.dataset,
    corruptions: CORRUPTIONS.join(","),
    severities: SEVERITIES.join(","),
    limit: LIMIT,
  });
  const shown = new Map(report.cells.map((c) => [`${c.model}|${c.corruption}|${c.severity}`, c]));
  const mismatched = answer.rows.filter((r) => {
    const c = shown.get(`${r.model}|${r.corruption}|${r.severity}`);
    return !c || Math.abs(c.accuracy - r.accuracy) > 1e-12 || Math.abs(c.drop - r.drop) > 1e-12;
  });
  check("every cell shows /api/robustness's accuracy and drop", mismatched.length === 0, JSON.stringify(mismatched));
  const maxDrop = Math.max(
    0.01,
    ...report.cells.filter((c) => c.model !== base.name && c.drop !== null).map((c) => Math.abs(c.drop)),
  );
  check("the legend spans the largest drop shown", Math.abs(report.legendExtent - maxDrop) < 1e-12, `${report.legendExtent} vs ${maxDrop}`);
  await view.locator("[data-testid=robustness-table]").scrollIntoViewIfNeeded();
  await shot("82-robustness.png");
  await shots("82-robustness");

  // the summary columns stay in view when the table scrolls (narrowed here to what a small
  // window or a longer sweep gives): the mean at the start, the model names at the end
  const table = view.locator("[data-testid=robustness-table]");
  const scroller = table.locator("xpath=..");
  await scroller.evaluate((el) => (el.style.maxWidth = "480px"));
  const inView = async (cell) => {
    const [box, c] = [await scroller.boundingBox(), await table.locator(cell).first().boundingBox()];
    return box !== null && c !== null && c.x >= box.x - 1 && c.x + c.width <= box.x + box.width + 1;
  };
  report.stickyTable = { scrolls: await scroller.evaluate((el) => el.scrollWidth > el.clientWidth) };
  report.stickyTable.meanAtStart = await inView("thead th.mean");
  await scroller.evaluate((el) => (el.scrollLeft = el.scrollWidth));
  report.stickyTable.modelAtEnd = await inView("thead th.model");
  report.stickyTable.meanAtEnd = await inView("thead th.mean");
  await shot("84-robustness-narrow-scrolled.png");
  await scroller.evaluate((el) => { el.scrollLeft = 0; el.style.maxWidth = ""; });
  check(
    "a scrolled table keeps the model and mean Δ columns in view",
    Object.values(report.stickyTable).every(Boolean),
    JSON.stringify(report.stickyTable),
  );

  // the corruptions, severities and limit are in the URL: a shared link opens the same table
  const shared = page.url();
  const sq = new URL(shared).searchParams;
  check(
    "the URL keeps the corruptions, severities and limit",
    sq.get("p.rob.corr") === CORRUPTIONS.join(",") && sq.get("p.rob.sev") === SEVERITIES.join(",") &&
      sq.get("p.rob.limit") === String(LIMIT),
    shared,
  );
  await page.goto(shared, { waitUntil: "load" });
  await view.locator("[data-testid=robustness-result]").waitFor({ state: "visible", timeout: slow });
  report.sharedLink = {
    corruptions: await view.locator("[data-testid=robustness-corruption]:checked").evaluateAll((els) => els.map((e) => e.value)),
    severities: await view.locator("[data-testid=robustness-severity]:checked").evaluateAll((els) => els.map((e) => Number(e.value))),
    limit: Number(await view.locator("[data-testid=robustness-limit]").inputValue()),
    cells: (await readCells(page)).length,
  };
  check(
    "the shared link restores the settings and the same table",
    JSON.stringify(report.sharedLink.corruptions) === JSON.stringify(CORRUPTIONS) &&
      JSON.stringify(report.sharedLink.severities) === JSON.stringify(SEVERITIES) &&
      report.sharedLink.limit === LIMIT && report.sharedLink.cells === report.cells.length,
    JSON.stringify(report.sharedLink),
  );

  // a click on the 95% model's row selects it in the app: URL, map and highlighted row
  const target = children[1];
  await view.locator(`[data-testid=robustness-row][data-model-id="${target.id}"] [data-testid=robustness-pick]`).click();
  await page.waitForFunction((id) => new URL(window.location.href).searchParams.get("sel") === id, target.id, { timeout });
  const node = page.locator(`[data-testid=map-node][data-model-id="${target.id}"]`);
  report.mapPressed = (await node.count()) ? await node.first().getAttribute("aria-pressed") : null;
  check("the map shows the clicked model selected", report.mapPressed === null || report.mapPressed === "true", String(report.mapPressed));
  report.rowsAfterPick = await page.$$eval("[data-testid=robustness-row]", (rows) => rows.length);
  report.highlighted = await page.$$eval("[data-testid=robustness-row].highlight", (rows) => rows.map((r) => r.dataset.modelId));
  check("the table keeps its rows and marks the clicked one", report.rowsAfterPick === 3 && report.highlighted.join() === target.id, JSON.stringify(report.highlighted));
  await shot("83-robustness-picked.png");
  // and back: every model of the table selected again
  await view.locator("[data-testid=robustness-select-all]").click();
  await page.waitForFunction(() => (new URL(window.location.href).searchParams.get("sel") ?? "").split(",").length === 2, null, { timeout });
}
