// Layers view: a lean_cnn seed as the base against its 50% and 80% magnitude children.
// Records the sparsity / relative-change cells, the CKA heat-map cells, the first diverging
// layer at two thresholds, the module filter and the sensitivity ranking as SHOWN, for
// tests/e2e/test_view_layers.py to compare with the Python API.
export default async function ({ page, url, models, check, shot, report, timeout }) {
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
  Object.assign(report, { base: base.id, models: [m50.id, m80.id] });

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
  await page.goto(new URL(`?sel=${m50.id},${m80.id}&base=${base.id}&view=layers`, url).href);
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
  await page.locator("[data-testid=module-detail] [data-testid=weight-histogram]").nth(1).waitFor({ timeout });
  report.histogramModule = await page.locator("[data-testid=module-detail]").getAttribute("data-module");
  report.histograms = await page.locator("[data-testid=weight-histogram]").count();
  report.unchanged = await page
    .locator(`[data-testid=module-detail] [data-model-id="${m80.id}"] [data-testid=change-histogram]`)
    .getAttribute("data-unchanged");
  await shot("layers-01-weights.png");

  // activations: wait for both models' CKA columns (the first run takes a while)
  const heat = (id) => page.locator(`[data-testid=heat-cell][data-model-id="${id}"][data-metric=cka]`);
  for (const id of [m50.id, m80.id]) {
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
  report.firstDiverging = { "0.9": await firstDiverging() };
  report.legend = await page.locator("[data-testid=activation-legend]").count();
  check("the heat map has a colour legend", report.legend === 1, `${report.legend} legends`);
  await page.locator("[data-testid=activation-heatmap]").scrollIntoViewIfNeeded();
  await shot("layers-02-heatmap.png");

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
}
