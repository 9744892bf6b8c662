// Layers view: a lean_cnn seed as the base against its 50% and 80% magnitude and int8 children.
// Records the sparsity / relative-change cells, the CKA heat-map cells, the first diverging
// layer at two thresholds, the module filter and the sensitivity ranking as SHOWN, for
// tests/e2e/test_view_layers.py to compare with the Python API.
export default async function ({ page, url, models, check, shot, shots, report, timeout }) {
  const long = Math.max(timeout, 300_000); // activations and sensitivity run models on first use
  const parentOf = (m) => m.operation?.parents?.[0]?.id;
  const magnitude = (amount) =>
    models.filter(
      (m) =>
        m.operation?.name === "prune.magnitude" &&
        Number(m.operation.params?.amount) === amount &&
        (m.tags ?? []).includes("stage:magnitude"),
    );
  const childOf = (base, amount) => magnitude(amount).find((c) => parentOf(c) === base.id);
  const base = models
    .filter((m) => m.operation?.name === "train.scratch" && m.name.startsWith("lean_cnn"))
    .sort((a, b) => a.name.localeCompare(b.name))
    .find((m) => childOf(m, 0.5) && childOf(m, 0.8));
  check("a lean_cnn seed with 50% and 80% magnitude children", base !== undefined, `${models.length} models`);
  const m50 = childOf(base, 0.5);
  const m80 = childOf(base, 0.8);
  // its dynamic int8 child: only the Linear layers change, so the convolutions stay identical
  const int8 = models.find((m) => m.operation?.name === "quantize.dynamic_int8" && parentOf(m) === base.id);
  check("the base has a dynamic int8 child", int8 !== undefined, base.name);
  Object.assign(report, { base: base.id, models: [m50.id, m80.id], int8: int8.id });

  // let the tab's own first requests (for the selection the drive left) finish, then navigate
  // between two polls, so that no request is aborted (an aborted one counts as a console error)
  const pending = new Set();
  page.on("request", (r) => pending.add(r));
  page.on("requestfinished", (r) => pending.delete(r));
  page.on("requestfailed", (r) => pending.delete(r));
  await page
    .locator("[data-testid=layers-table], [data-testid=layers-empty], [data-testid=layers-error]")
    .first()
    .waitFor({ state: "attached", timeout })
    .catch(() => {});
  if ((await page.locator("[data-testid=layers-table]").count()) > 0) {
    await page
      .locator("[data-testid=module-detail] [data-testid=weight-histogram], [data-testid=module-detail] .error")
      .first()
      .waitFor({ state: "attached", timeout })
      .catch(() => {});
  }
  for (let i = 0; i < 200 && pending.size; i++) await page.waitForTimeout(25);
  await page.goto(new URL(`?sel=${m50.id},${m80.id},${int8.id}&base=${base.id}&view=layers`, url).href);
  const view = page.locator("[data-testid=view-layers]");
  await view.waitFor({ state: "visible" });
  report.dataset = await view.getAttribute("data-dataset");
  check("a dataset is chosen", Boolean(report.dataset), "data-dataset is empty");

  // weights: every sparsity / relative-change cell of the 80% child, once the table is there
  const cells = (testid, id) => page.locator(`[data-testid=${testid}][data-model-id="${id}"]`);
  // (each column loads on its own: wait for both before reading either)
  for (const id of [m50.id, m80.id]) await cells("sparsity-cell", id).first().waitFor({ state: "attached", timeout });
  const readCells = async (testid, id) =>
    Object.fromEntries(
      await cells(testid, id).evaluateAll((els) => els.map((el) => [el.dataset.module, el.dataset.value])),
    );
  report.sparsity = { [m50.id]: await readCells("sparsity-cell", m50.id), [m80.id]: await readCells("sparsity-cell", m80.id) };
  report.change = { [m80.id]: await readCells("change-cell", m80.id) };
  report.treeRows = await page.locator("[data-testid=layer-row]").evaluateAll((els) => els.map((el) => el.dataset.module));
  check("the module tree has rows", report.treeRows.length > 2, `${report.treeRows.length} rows`);

  // the chosen module's weight histograms (one per model) and change distributions
  const leaf = report.treeRows.find((m) => m && report.sparsity[m80.id][m] && Number(report.sparsity[m80.id][m]) > 0 && m.includes("."));
  await page.locator(`[data-testid=layer-row][data-module="${leaf}"] button`).click();
  // one histogram per selected model (50%, 80%, int8): each loads on its own, wait for all three
  await page.locator("[data-testid=module-detail] [data-testid=weight-histogram]").nth(2).waitFor({ timeout });
  report.histogramModule = await page.locator("[data-testid=module-detail]").getAttribute("data-module");
  report.histograms = await page.locator("[data-testid=weight-histogram]").count();
  report.unchanged = await page
    .locator(`[data-testid=module-detail] [data-model-id="${m80.id}"] [data-testid=change-histogram]`)
    .getAttribute("data-unchanged");
  await shot("layers-01-weights.png");

  // activations: wait for both models' CKA columns (the first run takes a while)
  const heat = (id) => page.locator(`[data-testid=heat-cell][data-model-id="${id}"][data-metric=cka]`);
  for (const id of [m50.id, m80.id, int8.id]) {
    await page.waitForFunction(
      (sel) => {
        const els = [...document.querySelectorAll(sel)];
        return els.length > 0 && els.some((el) => el.dataset.value !== "");
      },
      `[data-testid=heat-cell][data-model-id="${id}"][data-metric=cka]`,
      { timeout: long },
    );
  }
  const readHeat = async (id) =>
    Object.fromEntries(await heat(id).evaluateAll((els) => els.map((el) => [el.dataset.module, el.dataset.value])));
  report.cka = { [m50.id]: await readHeat(m50.id), [m80.id]: await readHeat(m80.id) };
  const firstDiverging = async () =>
    Object.fromEntries(
      await page
        .locator("[data-testid=first-diverging]")
        .evaluateAll((els) => els.map((el) => [el.dataset.modelId, el.dataset.module])),
    );
  const markers = async () =>
    Object.fromEntries(
      await page
        .locator("[data-testid=heat-cell][data-diverging=true]")
        .evaluateAll((els) => els.map((el) => [el.dataset.modelId, el.dataset.module])),
    );
  // the threshold's label as shown (the label's own text, not its options')
  const thresholdLabel = () =>
    page.locator("[data-testid=divergence-threshold]").evaluate((el) =>
      [...el.closest("label").childNodes]
        .filter((n) => n !== el && !(n instanceof Element && n.contains(el)))
        .map((n) => n.textContent)
        .join(" ")
        .replace(/\s+/g, " ")
        .trim(),
    );
  // every marked cell: the module it sits on, whether it shows a value, per model
  const markedCells = () =>
    page.locator("[data-testid=heat-cell][data-diverging=true]").evaluateAll((els) =>
      els.map((el) => ({
        model: el.dataset.modelId,
        module: el.dataset.module,
        shown: el.textContent.replace(/▶/g, "").trim(),
      })),
    );
  const markersLandOnNamed = (named, cells) =>
    Object.entries(named).every(([id, m]) =>
      m ? cells.filter((c) => c.model === id).length === 1 && cells.some((c) => c.model === id && c.module === m && c.shown !== "–")
        : !cells.some((c) => c.model === id),
    );
  report.defaults = {
    metric: await page.locator("[data-testid=activation-metric]").inputValue(),
    threshold: Number(await page.locator("[data-testid=divergence-threshold]").inputValue()),
    label: await thresholdLabel(),
  };
  report.firstDiverging = { default: await firstDiverging() };
  report.defaultMarkers = await markedCells();
  check(
    "int8 vs the base names a first diverging layer at the default threshold",
    Boolean(report.firstDiverging.default[int8.id]),
    JSON.stringify({ defaults: report.defaults, firstDiverging: report.firstDiverging.default }),
  );
  check(
    "each marker sits on the layer its column names, on a cell with a value",
    markersLandOnNamed(report.firstDiverging.default, report.defaultMarkers),
    JSON.stringify({ named: report.firstDiverging.default, markers: report.defaultMarkers }),
  );
  // a similarity below 1 is never shown as 1 (int8's CKA is 0.999998 where it is quantized)
  report.ckaText = await heat(int8.id).evaluateAll((els) =>
    els.map((el) => ({ module: el.dataset.module, value: el.dataset.value, shown: el.textContent.replace(/▶/g, "").trim() })),
  );
  const roundedToOne = report.ckaText.filter((c) => c.value !== "" && Number(c.value) < 1 && Number(c.shown) === 1);
  check("no CKA below 1 is shown as 1", roundedToOne.length === 0, JSON.stringify(roundedToOne));
  report.legend = await page.locator("[data-testid=activation-legend]").count();
  check("the heat map has a colour legend", report.legend === 1, `${report.legend} legends`);
  await page.locator("[data-testid=activation-heatmap]").scrollIntoViewIfNeeded();
  await shot("layers-02-heatmap.png");
  await shots("layers-02-heatmap");

  // a stricter threshold: the marker moves to the first layer under it
  await page.locator("[data-testid=divergence-threshold]").selectOption("0.999");
  report.firstDiverging["0.999"] = await firstDiverging();
  report.markers = await markers();
  const marked = Object.entries(report.firstDiverging["0.999"]).filter(([, m]) => m);
  check(
    "each first diverging layer is marked in the heat map",
    marked.every(([id, m]) => report.markers[id] === m) && Object.keys(report.markers).length === marked.length,
    JSON.stringify({ header: report.firstDiverging["0.999"], markers: report.markers }),
  );
  await shot("layers-03-diverging.png");

  // the SQNR heat map (legend in dB)
  await page.locator("[data-testid=activation-metric]").selectOption("sqnr_db");
  const sqnr = page.locator(`[data-testid=heat-cell][data-model-id="${m80.id}"][data-metric=sqnr_db]`);
  await sqnr.first().waitFor({ state: "attached" });
  report.sqnr = { [m80.id]: Object.fromEntries(await sqnr.evaluateAll((els) => els.map((el) => [el.dataset.module, el.dataset.value]))) };
  report.sqnrLabel = await thresholdLabel();
  report.sqnrThreshold = Number(await page.locator("[data-testid=divergence-threshold]").inputValue());
  check("the threshold's label names SQNR and its unit", /SQNR/.test(report.sqnrLabel) && !/CKA/.test(report.sqnrLabel), report.sqnrLabel);
  report.sqnrInt8 = await page
    .locator(`[data-testid=heat-cell][data-model-id="${int8.id}"][data-metric=sqnr_db]`)
    .evaluateAll((els) => els.map((el) => ({ module: el.dataset.module, value: el.dataset.value, shown: el.textContent.replace(/▶/g, "").trim() })));
  const identical = report.sqnrInt8.find((c) => c.module === "block1.conv");
  check("int8's unchanged first convolution shows ∞ dB", identical?.shown.includes("∞") === true, JSON.stringify(identical));
  report.firstDiverging.sqnr = await firstDiverging();
  report.sqnrMarkers = await markedCells();
  check(
    "with SQNR, int8 names a first diverging layer and each marker sits on the named layer",
    Boolean(report.firstDiverging.sqnr[int8.id]) && markersLandOnNamed(report.firstDiverging.sqnr, report.sqnrMarkers),
    JSON.stringify({ named: report.firstDiverging.sqnr, markers: report.sqnrMarkers }),
  );
  await page.locator("[data-testid=activation-heatmap]").scrollIntoViewIfNeeded();
  await shots("layers-06-sqnr");
  await page.locator("[data-testid=activation-metric]").selectOption("cka");

  // the module filter: a glob keeps the matching layers and their enclosing modules
  await page.locator("[data-testid=layers-filter]").fill("*conv");
  report.filtered = await page.locator("[data-testid=layer-row]").evaluateAll((els) => els.map((el) => el.dataset.module));
  report.filteredHeat = await heat(m80.id).evaluateAll((els) => els.map((el) => el.dataset.module));
  check(
    "the glob filter keeps the conv layers and their parents",
    report.filtered.some((m) => m.endsWith("conv")) &&
      report.filtered.every((m) => m === "" || m.endsWith("conv") || report.filtered.some((x) => x.startsWith(`${m}.`))),
    JSON.stringify(report.filtered),
  );
  await shot("layers-04-filtered.png");

  // the filter, the threshold and the chosen module are in the URL: a shared link restores them
  const shared = page.url();
  const sq = new URL(shared).searchParams;
  check(
    "the URL keeps the module filter, threshold and chosen module",
    sq.get("p.lay.filter") === "*conv" && sq.get("p.lay.thr") === "0.999" && sq.get("p.lay.module") === report.histogramModule,
    shared,
  );
  await page.goto(shared, { waitUntil: "load" });
  await page.locator("[data-testid=layer-row]").first().waitFor({ state: "attached", timeout });
  await page.locator("[data-testid=module-detail]").waitFor({ state: "attached", timeout });
  report.sharedLink = {
    filter: await page.locator("[data-testid=layers-filter]").inputValue(),
    threshold: await page.locator("[data-testid=divergence-threshold]").inputValue(),
    module: await page.locator("[data-testid=module-detail]").getAttribute("data-module"),
    rows: await page.locator("[data-testid=layer-row]").evaluateAll((els) => els.map((el) => el.dataset.module)),
  };
  check(
    "the shared link restores the filter, threshold, module and filtered rows",
    report.sharedLink.filter === "*conv" && Number(report.sharedLink.threshold) === 0.999 &&
      report.sharedLink.module === report.histogramModule &&
      JSON.stringify(report.sharedLink.rows) === JSON.stringify(report.filtered),
    JSON.stringify(report.sharedLink),
  );
  await page.locator("[data-testid=layers-filter]").fill("");

  // at 1024×700 both tables fit the page and, scrolled right (narrowed to what more models
  // would need), keep the layer names in view
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.waitForTimeout(150);
  report.sticky = {};
  for (const [name, table, first] of [
    ["weights", "[data-testid=layers-table]", "thead th.module"],
    ["activations", "[data-testid=activation-heatmap] table", "tbody td:first-child"],
  ]) {
    const scroller = page.locator(table).locator("xpath=..");
    const inPage = ((b) => b !== null && b.x + b.width <= 1024 + 1)(await scroller.boundingBox());
    await scroller.evaluate((el) => { el.style.maxWidth = "360px"; el.scrollLeft = el.scrollWidth; });
    await page.waitForTimeout(50);
    const [box, cell] = [await scroller.boundingBox(), await page.locator(table).locator(first).first().boundingBox()];
    report.sticky[name] = {
      scrolled: await scroller.evaluate((el) => el.scrollLeft),
      inside: box !== null && cell !== null && cell.x >= box.x - 1 && cell.x + cell.width <= box.x + box.width + 1,
      inPage,
    };
    await scroller.evaluate((el) => { el.scrollLeft = 0; el.style.maxWidth = ""; });
  }
  report.pageOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize({ width: 1440, height: 900 });
  check(
    "scrolled right at 1024, each table keeps its layer column in view and inside the page",
    Object.values(report.sticky).every((s) => s.scrolled > 0 && s.inside && s.inPage) && report.pageOverflow <= 0,
    JSON.stringify({ sticky: report.sticky, pageOverflow: report.pageOverflow }),
  );

  // sensitivity of the base's layers to 80% magnitude pruning (a long analysis)
  await page.locator("[data-testid=sensitivity-amount]").selectOption("0.8");
  await page.locator("[data-testid=sensitivity-run]").click();
  await page.waitForFunction(
    () => ["ok", "error"].includes(document.querySelector("[data-testid=sensitivity]")?.dataset.state ?? ""),
    null,
    { timeout: long },
  );
  const state = await page.locator("[data-testid=sensitivity]").getAttribute("data-state");
  const error = state === "error" ? await page.locator("[data-testid=sensitivity-error]").textContent() : "";
  report.sensitivity = {
    state,
    error,
    model: base.id,
    amount: 0.8,
    rows: await page
      .locator("[data-testid=sensitivity-row]")
      .evaluateAll((els) => els.map((el) => ({ layer: el.dataset.layer, rank: Number(el.dataset.rank), drop: el.dataset.drop }))),
  };
  check("the sensitivity ranking is shown", state === "ok" && report.sensitivity.rows.length > 0, error);
  await page.locator("[data-testid=sensitivity]").scrollIntoViewIfNeeded();
  await shot("layers-05-sensitivity.png");
  await flipAttribution({ page, url, models, check, shots, report, timeout }, base, m80);
}

/** Issue 14: "Attribute flips" fills the module table's "flips undone when restored" column for
 * the 80% child against its base (correct → incorrect flips), the greedy set marked ● on its
 * modules and named, with its cumulative share, in the summary above the table. Records every
 * cell and the summary for test_view_layers.py to compare with Workspace.attribute_flips. */
async function flipAttribution({ page, url, models, check, shots, report, timeout }, base, model) {
  await page.waitForLoadState("networkidle", { timeout: 5_000 }).catch(() => {});
  await page.goto(new URL(`?sel=${model.id}&base=${base.id}&view=layers`, url).href);
  await page.locator("[data-testid=layer-row]").first().waitFor({ state: "attached", timeout });
  const run = page.locator("[data-testid=attr-run]");
  const present = (await run.count()) === 1;
  check("the Layers view has an “Attribute flips” button", present, "no [data-testid=attr-run]");
  if (!present) return;
  await run.click();
  const progress = await page.locator("[data-testid=attr-progress]").waitFor({ state: "visible", timeout: 3_000 })
    .then(() => true, () => false);
  await page.locator("[data-testid=attr-summary][data-state=ok], [data-testid=attr-error]").first()
    .waitFor({ state: "visible", timeout: 180_000 });
  report.attribution = { base: base.id, model: model.id, progressShown: progress, ...(await readAttribution(page)) };
  const a = report.attribution;
  check("the “flips undone when restored” column fills with shares", /flips undone/.test(a.header) &&
    a.cells.some((c) => /^\d+(\.\d)?%/.test(c.text)), JSON.stringify({ error: a.error, header: a.header, cells: a.cells.slice(0, 3) }));
  const marked = a.cells.filter((c) => c.greedy && c.text.includes("●")).map((c) => c.module);
  check("the greedy set is marked ● on its modules and named in the summary",
    a.greedy.length > 0 && JSON.stringify([...marked].sort()) === JSON.stringify([...a.greedy].sort()) &&
      a.greedy.every((m) => a.summaryText.includes(m)),
    JSON.stringify({ marked, greedy: a.greedy, summary: a.summaryText }));
  await page.locator("[data-testid=attr-summary]").scrollIntoViewIfNeeded();
  await shots("layers-07-attribution");

  // a shared link asks for it (p.lay.attr=all): a structured child's pruned modules changed
  // shape, so their cells say "—" with the reason on hover
  const structured = models.find((m) => m.operation?.name === "prune.structured" && m.operation.parents?.[0]?.id === base.id);
  if (!structured) return check("the base has a structured child", false, base.name);
  await page.goto(new URL(`?sel=${structured.id}&base=${base.id}&view=layers&p.lay.attr=all`, url).href);
  await page.locator("[data-testid=attr-summary][data-state=ok], [data-testid=attr-error]").first()
    .waitFor({ state: "visible", timeout: 180_000 });
  report.structuredAttribution = { base: base.id, model: structured.id, ...(await readAttribution(page)) };
  const dashes = report.structuredAttribution.cells.filter((c) => c.text === "—");
  check("a structured model's unrestorable modules show “—” with the reason on hover",
    dashes.length > 0 && dashes.every((c) => /^cannot be restored: ./.test(c.title)),
    JSON.stringify(report.structuredAttribution.cells));
  await page.locator("[data-testid=attr-summary]").scrollIntoViewIfNeeded();
  await shots("layers-08-attribution-structured");
}

/** What the attribution shows: the column's header, every filled cell, the summary. */
async function readAttribution(page) {
  const summary = page.locator("[data-testid=attr-summary]");
  const error = (await page.locator("[data-testid=attr-error]").count()) ? await page.locator("[data-testid=attr-error]").innerText() : "";
  const cells = await page.locator("[data-testid=attr-cell]").evaluateAll((els) =>
    els.map((el) => ({
      module: el.dataset.module,
      share: el.dataset.share,
      greedy: el.dataset.greedy === "true",
      text: el.textContent.replace(/\s+/g, " ").trim(),
      title: el.getAttribute("title") ?? "",
    })),
  );
  return {
    error,
    header: await page.locator("[data-testid=attr-header]").innerText().catch(() => ""),
    flips: Number(await summary.getAttribute("data-flips")),
    greedy: ((await summary.getAttribute("data-greedy")) ?? "").split(",").filter(Boolean),
    cumulative: Number(await summary.getAttribute("data-cumulative")),
    summaryText: (await summary.innerText()).replace(/\s+/g, " ").trim(),
    cells: cells.filter((c) => c.text !== ""),
  };
}
