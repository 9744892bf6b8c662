// Behaviours view on the demo workspace: a lean_cnn seed model as base and its 80% magnitude-
// pruned child. Records what the page shows (a class cell, a subgroup cell, the drill-down into
// "Shirt", the transition Shirt → T-shirt/top, agreement and calibration) for
// test_view_behaviours.py to compare with the Python API.
const DRILL_CLASS = "Shirt";
const TO_CLASS = "T-shirt/top";

function findPair(models) {
  const seeds = models
    .filter((m) => m.operation?.name === "train.scratch" && m.name.startsWith("lean_cnn-s"))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const base of seeds) {
    const child = models.find(
      (m) =>
        m.operation?.name === "prune.magnitude" &&
        Number(m.operation?.params?.amount) === 0.8 &&
        (m.operation?.parents ?? []).some((p) => p.id === base.id),
    );
    if (child) return { base, child };
  }
  return null;
}

export default async function ({ page, url, models, check, shot, shots, report, timeout }) {
  const pair = findPair(models);
  check("a lean_cnn seed with an 80% magnitude-pruned child exists", pair !== null);
  const { base, child } = pair;
  report.base = base.id;
  report.model = child.id;
  await page.goto(new URL(`?sel=${base.id},${child.id}&base=${base.id}&view=behaviours`, url).href);
  const view = page.locator("[data-testid=behaviours]");
  await view.waitFor({ state: "visible" });
  report.dataset = await view.getAttribute("data-dataset");

  // a per-class Δ cell (the drill class) and a subgroup Δ cell
  const cell = page.locator(
    `[data-testid=behaviour-row][data-class="${DRILL_CLASS}"] [data-testid=behaviour-cell][data-model-id="${child.id}"]:not([data-delta=""])`,
  );
  await cell.waitFor({ state: "attached", timeout });
  report.class_cell = {
    class: DRILL_CLASS,
    delta: Number(await cell.getAttribute("data-delta")),
    delta_low: Number(await cell.getAttribute("data-delta-low")),
    delta_high: Number(await cell.getAttribute("data-delta-high")),
  };
  report.class_rows = await page.locator("[data-testid=behaviour-row]").count();
  // each class cell's excess direction ("loss" / "gain" / none) and the mark drawn for it
  const excessCells = await page.$$eval(`[data-testid=behaviour-cell][data-model-id="${child.id}"]`, (cells) =>
    cells.map((c) => ({
      class: c.closest("[data-testid=behaviour-row]")?.dataset.class,
      excess: c.dataset.excess || null,
      mark: c.querySelector("[data-testid=behaviour-excess]")?.textContent ?? "",
    })),
  );
  report.class_excess = Object.fromEntries(excessCells.map((c) => [c.class, c.excess]));
  report.class_marks = Object.fromEntries(excessCells.map((c) => [c.class, c.mark]));
  report.legend = await page.locator("[data-testid=behaviour-legend]").innerText();
  const sub = page.locator(`[data-testid=behaviour-subgroup-cell][data-model-id="${child.id}"]:not([data-delta=""])`).first();
  await sub.waitFor({ state: "attached", timeout });
  report.subgroup_cell = {
    attribute: await sub.getAttribute("data-attribute"),
    value: await sub.getAttribute("data-value"),
    delta: Number(await sub.getAttribute("data-delta")),
  };
  report.subgroup_rows = await page.locator("[data-testid=behaviour-subgroup-row]").count();
  check("subgroup rows are shown", report.subgroup_rows > 0, `${report.subgroup_rows} rows`);

  // the transition matrix, the agreement matrix and the calibration curves
  const trans = page.locator(`[data-testid=transition-cell][data-from="${DRILL_CLASS}"][data-to="${TO_CLASS}"]`);
  await trans.waitFor({ state: "attached", timeout });
  report.transition = { from: DRILL_CLASS, to: TO_CLASS, count: Number(await trans.getAttribute("data-count")) };
  await transitionAxisTitles({ page, check, report });
  const agree = page.locator(`[data-testid=agreement-cell][data-row-id="${base.id}"][data-col-id="${child.id}"]`);
  await agree.waitFor({ state: "attached", timeout });
  report.agreement = Number(await agree.getAttribute("data-value"));
  const ece = page.locator(`[data-testid=calibration-legend] li[data-model-id="${child.id}"]`);
  await ece.waitFor({ state: "attached", timeout });
  report.ece = Number(await ece.getAttribute("data-ece"));
  check("legends are shown", (await page.locator("[data-testid=transition-legend]").count()) === 1 &&
    (await page.locator("[data-testid=agreement-legend]").count()) === 1);
  await shot("behaviours-table.png");

  // drill into the class: every instance of it, then only the changed ones
  await page.locator(`[data-testid=behaviour-class][data-class="${DRILL_CLASS}"]`).click();
  const drill = page.locator("[data-testid=behaviour-drill]");
  await drill.waitFor({ state: "visible", timeout });
  const total = page.locator("[data-testid=drill-total]:not([data-total=''])");
  await total.waitFor({ state: "attached", timeout });
  await page.locator("[data-testid=drill-instance]").first().waitFor({ state: "visible", timeout });
  report.drill = {
    class: await drill.getAttribute("data-class"),
    label: Number(await drill.getAttribute("data-label")),
    total: Number(await total.getAttribute("data-total")),
    first_page: await page.locator("[data-testid=drill-instance]").evaluateAll((els) => els.map((e) => Number(e.dataset.instance))),
    sort: await page.locator("[data-testid=drill-sort]").inputValue(),
  };
  const img = page.locator("[data-testid=drill-instance] img").first();
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle(), { timeout });
  report.drill.thumbnail_width = await img.evaluate((el) => el.naturalWidth);
  await shot("behaviours-drill.png");

  await page.locator("[data-testid=drill-flip]").selectOption("correct_to_incorrect");
  await page.waitForFunction(
    () => [...document.querySelectorAll("[data-testid=drill-instance]")].every((e) => e.dataset.flip === "correct_to_incorrect") &&
      document.querySelector("[data-testid=drill-total]")?.dataset.total !== "",
    null,
    { timeout },
  );
  // wait until the page shows the filtered answer (its total differs from the unfiltered one)
  await page.waitForFunction(
    (all) => Number(document.querySelector("[data-testid=drill-total]")?.dataset.total) !== all,
    report.drill.total,
    { timeout },
  );
  report.drill.lost_total = Number(await page.locator("[data-testid=drill-total]").getAttribute("data-total"));
  await shot("behaviours-drill-lost.png");
  await sharedLinkAndScale({ page, url, models, check, shot, report, timeout, pair });
  await modelColumnsAndLatency({ page, url, models, check, shots, report, timeout, pair });
  await metricLists({ page, url, models, check, shots, report, timeout, pair });
  await whichLayers({ page, url, check, shots, report, timeout, pair });
}

/** Issue 14: a class row's “Which layers?” opens the Layers view with the flip attribution of
 * that class (correct → incorrect) for the focused model, through the URL (a shareable link). */
async function whichLayers({ page, url, check, shots, report, timeout, pair }) {
  const { base, child } = pair;
  await page.waitForLoadState("networkidle", { timeout: 5_000 }).catch(() => {});
  await page.goto(new URL(`?sel=${base.id},${child.id}&base=${base.id}&view=behaviours`, url).href);
  const link = page.locator(`[data-testid=behaviour-row][data-class="${DRILL_CLASS}"] [data-testid=which-layers]`);
  const present = await link.waitFor({ state: "visible", timeout }).then(() => true, () => false);
  check("a class row has a “Which layers?” link", present, DRILL_CLASS);
  if (!present) return;
  await shots("behaviours-which-layers-link");
  await link.click();
  await page.locator("[data-testid=attr-summary][data-state=ok], [data-testid=attr-error]").first()
    .waitFor({ state: "visible", timeout: 180_000 });
  const summary = page.locator("[data-testid=attr-summary]");
  const q = new URL(page.url()).searchParams;
  report.whichLayers = {
    class: DRILL_CLASS,
    base: base.id,
    model: child.id,
    view: q.get("view"),
    param: q.get("p.lay.attr"),
    shownClass: await summary.getAttribute("data-class"),
    flips: Number(await summary.getAttribute("data-flips")),
    greedy: (await summary.getAttribute("data-greedy") ?? "").split(",").filter(Boolean),
    summaryText: (await summary.innerText()).replace(/\s+/g, " ").trim(),
  };
  const w = report.whichLayers;
  check("“Which layers?” opens Layers with the class's attribution, in the URL",
    w.view === "layers" && w.param === DRILL_CLASS && w.shownClass === DRILL_CLASS && w.summaryText.includes(DRILL_CLASS),
    JSON.stringify(w));
  await page.locator("[data-testid=attr-summary]").scrollIntoViewIfNeeded();
  await shots("behaviours-which-layers");

  // from the drill-down: a flip filter other than correct → incorrect asks for any flip
  await page.goto(new URL(`?sel=${base.id},${child.id}&base=${base.id}&view=behaviours&p.beh.class=${DRILL_CLASS}&p.beh.flip=incorrect_to_correct`, url).href);
  const drillLink = page.locator("[data-testid=behaviour-drill] [data-testid=drill-which-layers]");
  const inDrill = await drillLink.waitFor({ state: "visible", timeout }).then(() => true, () => false);
  check("the drill-down has a “Which layers?” link", inDrill, DRILL_CLASS);
  if (!inDrill) return;
  await drillLink.click();
  await page.locator("[data-testid=attr-summary][data-state=ok], [data-testid=attr-error]").first()
    .waitFor({ state: "visible", timeout: 180_000 });
  const dq = new URL(page.url()).searchParams;
  report.whichLayersDrill = {
    param: dq.get("p.lay.attr"),
    flipsParam: dq.get("p.lay.attr.flips"),
    flipsChoice: await page.locator("[data-testid=attr-flips]").inputValue(),
    shownClass: await summary.getAttribute("data-class"),
    flips: Number(await summary.getAttribute("data-flips")),
  };
  const d = report.whichLayersDrill;
  check("the drill-down's link asks for any flip of the class",
    d.param === DRILL_CLASS && d.flipsParam === "any" && d.flipsChoice === "any" && d.shownClass === DRILL_CLASS,
    JSON.stringify(d));
}

/** The robustness runs in the API's models: one per dataset and `#n…s…` suffix of a
 * `robust:<corruption>@<severity>#n<N>s<seed>` metric. */
function robustnessRuns(models) {
  const runs = new Set();
  const others = new Set();
  for (const m of models) {
    for (const [group, values] of Object.entries(m.metrics ?? {})) {
      for (const [name, v] of Object.entries(values ?? {})) {
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        if (name.startsWith("robust:")) runs.add(`${group}/${name.slice(name.indexOf("#"))}`);
        else others.add(`${group}/${name}`);
      }
    }
  }
  return { runs: [...runs].sort(), others: others.size };
}

/** Issue 13 item 1: the colour select and the details checkboxes offer at most one robustness
 * metric per run, with a human name, after the dataset and model metrics. */
async function metricLists({ page, url, check, shots, report, timeout, pair, models }) {
  const { base, child } = pair;
  const { runs, others } = robustnessRuns(models);
  await page.goto(new URL(`?sel=${base.id},${child.id}&base=${base.id}&view=details`, url).href);
  const colour = page.locator("[data-testid=map-color]");
  await colour.waitFor({ state: "attached", timeout });
  const options = await colour.locator("option").evaluateAll((els) =>
    els.map((e) => ({ label: e.textContent.trim(), group: e.closest("optgroup")?.label ?? null })),
  );
  await page.locator("[data-testid=details-metric]").first().waitFor({ state: "attached", timeout });
  const boxes = await page.locator("[data-testid=details-metric]").evaluateAll((els) =>
    els.map((e) => e.closest("label")?.textContent.trim() ?? ""),
  );
  const robustOptions = options.filter((o) => /robust/i.test(o.label));
  report.metric_lists = {
    runs,
    non_robust_metrics: others,
    colour_options: options.length,
    colour_robust_options: robustOptions.map((o) => o.label),
    colour_groups: [...new Set(options.map((o) => o.group))],
    details_checkboxes: boxes.length,
  };
  const raw = [...options.map((o) => o.label), ...boxes].filter((l) => l.includes("robust:"));
  check("no metric option or checkbox names a raw robustness condition", raw.length === 0, `${raw.length}: ${raw.slice(0, 3).join(" | ")}`);
  check("at most one robustness metric per run in the colour select", robustOptions.length <= runs.length,
    `${robustOptions.length} robustness options for ${runs.length} runs`);
  const bound = others + runs.length;
  check("the colour select and the details checkboxes stay under the metric bound",
    options.length <= bound && boxes.length <= bound, `${options.length} options, ${boxes.length} checkboxes, bound ${bound}`);
  const lastGroup = options.at(-1)?.group ?? "";
  check("the colour select groups metrics, robustness last",
    options.every((o) => o.group !== null) && (runs.length === 0 || /robust/i.test(lastGroup)),
    JSON.stringify(report.metric_lists.colour_groups));
  await page.locator("[data-testid=details-metrics]").scrollIntoViewIfNeeded();
  await shots("behaviours-metric-lists");
}

/** Issue 13 item 2: the magnitude 50/80/95% models of one seed are told apart in the
 * Behaviours columns (the amount, unclipped), with the full name on hover; a sub-millisecond
 * latency in the selection panel is not "0". */
async function modelColumnsAndLatency({ page, url, models, check, shots, report, timeout, pair }) {
  const { base } = pair;
  const pruned = [0.5, 0.8, 0.95].map((amount) =>
    models.find(
      (m) => m.operation?.name === "prune.magnitude" && Number(m.operation?.params?.amount) === amount &&
        m.operation?.params?.scope === "global" && (m.operation?.parents ?? []).some((p) => p.id === base.id),
    ),
  );
  check("the base has magnitude 50/80/95% children", pruned.every((m) => m !== undefined));
  const ids = pruned.map((m) => m.id);
  await page.goto(new URL(`?sel=${base.id},${ids.join(",")}&base=${base.id}&view=behaviours`, url).href);
  await page.locator(`[data-testid=behaviour-cell][data-model-id="${ids[2]}"]:not([data-delta=""])`).first()
    .waitFor({ state: "attached", timeout });
  // the header cells of the model columns (after Class, n, base acc), as a reader sees them
  const headers = await page.locator("[data-testid=behaviours] table thead th").evaluateAll((ths) =>
    ths.slice(3).map((th) => ({
      text: th.textContent.trim(),
      title: th.getAttribute("title") ?? "",
      clipped: th.scrollWidth > th.clientWidth + 1,
    })),
  );
  report.columns = { ids, names: pruned.map((m) => m.name), headers };
  const texts = headers.map((h) => h.text);
  check("one column per pruned model", headers.length === 3, JSON.stringify(texts));
  check("the column headers are pairwise distinct", new Set(texts).size === texts.length, JSON.stringify(texts));
  check("each column header shows its amount, unclipped",
    headers.every((h, i) => h.text.includes(String([0.5, 0.8, 0.95][i])) && !h.clipped), JSON.stringify(headers));
  check("each column header's title holds the full name",
    headers.every((h, i) => h.title.includes(pruned[i].name)), JSON.stringify(headers.map((h) => h.title)));

  // the agreement matrix's row labels (the base and the three models): distinct and whole
  await page.locator("[data-testid=agreement-cell]").first().waitFor({ state: "attached", timeout });
  const agreementLabels = await page.locator("[data-testid=agreement-matrix] text.lab").evaluateAll((els) =>
    els.map((el) => [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join("").trim()),
  );
  const rowLabels = agreementLabels.filter((_, i) => i % 2 === 0);
  report.agreement_labels = rowLabels;
  check("the agreement matrix labels are distinct and not cut", rowLabels.length === 4 &&
    new Set(rowLabels).size === 4 && rowLabels.every((l) => !l.endsWith("…")), JSON.stringify(rowLabels));

  // the selection panel's latency of a sub-millisecond model
  const latency = await page.locator("[data-testid=selection] thead th").evaluateAll((ths) =>
    ths.findIndex((th) => (th.getAttribute("title") ?? "").startsWith("Latency ms (batch 1)")),
  );
  // each row's latency as a reader sees it: the value's text and whether all of it lies inside
  // the panel's scroll box (a clipped "0.15…" can read as "0" at a smaller width)
  const readLatency = () =>
    page.locator("[data-testid=selection-row]").evaluateAll((rows, col) =>
      rows.map((r) => {
        const cell = r.children[col];
        const text = [...(cell?.childNodes ?? [])].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
        const box = r.closest(".scroll")?.getBoundingClientRect();
        let visible = false;
        if (text && box) {
          const range = document.createRange();
          range.selectNodeContents(text);
          const t = range.getBoundingClientRect();
          visible = t.width > 0 && t.left >= box.left - 0.5 && t.right <= box.right + 0.5;
        }
        return { id: r.dataset.modelId, value: (text?.textContent ?? "").trim(), visible };
      }),
      latency,
    );
  const cells = await readLatency();
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.waitForTimeout(150);
  const narrow = await readLatency();
  await page.setViewportSize({ width: 1440, height: 900 });
  report.latency = { column: latency, cells, narrow };
  check("the selection panel has a latency column", latency > 0, String(latency));
  check("no sub-millisecond latency shows as 0",
    cells.length > 0 && cells.every((c) => c.value !== "" && !/^[-−±+]?0(\.0*)?$/.test(c.value) && c.value !== "–"), JSON.stringify(cells));
  check("each latency is fully visible in the selection panel at 1440 and 1024 px",
    [...cells, ...narrow].every((c) => c.visible), JSON.stringify({ cells, narrow }));
  await shots("behaviours-model-columns");
}

/** Each model column's reach (largest |Δ| or bound, at least 0.02) from the cells' attributes. */
async function columnReach(page) {
  return page.$$eval("[data-testid=behaviour-cell], [data-testid=behaviour-subgroup-cell]", (cells) => {
    const out = {};
    for (const c of cells) {
      const vals = [c.dataset.delta, c.dataset.deltaLow, c.dataset.deltaHigh].filter((v) => v !== undefined && v !== "").map((v) => Math.abs(Number(v)));
      out[c.dataset.modelId] = Math.max(out[c.dataset.modelId] ?? 0.02, ...vals);
    }
    return out;
  });
}

export async function sharedLinkAndScale({ page, url, models, check, shot, report, timeout, pair }) {
  const { base, child } = pair;
  // the drill-down and its filter are in the URL: a shared link opens them again
  const shared = page.url();
  const sq = new URL(shared).searchParams;
  check(
    "the URL keeps the drilled class and the flip filter",
    sq.get("p.beh.class") === DRILL_CLASS && sq.get("p.beh.flip") === "correct_to_incorrect",
    shared,
  );
  await page.goto(shared, { waitUntil: "load" });
  const drill = page.locator("[data-testid=behaviour-drill]");
  await drill.waitFor({ state: "visible", timeout });
  await page.waitForFunction(
    (want) => document.querySelector("[data-testid=drill-total]")?.dataset.total === String(want),
    report.drill.lost_total,
    { timeout },
  );
  report.shared_link = {
    class: await drill.getAttribute("data-class"),
    flip: await page.locator("[data-testid=drill-flip]").inputValue(),
    total: Number(await page.locator("[data-testid=drill-total]").getAttribute("data-total")),
  };
  check(
    "the shared link restores the drilled class, its flip filter and count",
    report.shared_link.class === DRILL_CLASS && report.shared_link.flip === "correct_to_incorrect" &&
      report.shared_link.total === report.drill.lost_total,
    JSON.stringify(report.shared_link),
  );

  // a collapsed model (95% pruning) beside the 80% one: the glyph scale stays readable
  const collapsed = models.find(
    (m) => m.operation?.name === "prune.magnitude" && Number(m.operation?.params?.amount) === 0.95 &&
      (m.operation?.parents ?? []).some((p) => p.id === base.id),
  );
  if (!collapsed) return;
  await page.goto(new URL(`?sel=${base.id},${child.id},${collapsed.id}&base=${base.id}&view=behaviours`, url).href);
  await page.locator(`[data-testid=behaviour-cell][data-model-id="${collapsed.id}"]:not([data-delta=""])`).first()
    .waitFor({ state: "attached", timeout });
  const reach = await columnReach(page);
  const note = page.locator("[data-testid=behaviour-clip-note]");
  const standsOut = reach[collapsed.id] > 3 * reach[child.id];
  report.glyph_scale = { reach, standsOut, note: (await note.count()) ? await note.getAttribute("data-outliers") : null };
  if (standsOut) {
    const extent = Number(await note.getAttribute("data-extent"));
    const childClipped = await page.locator(`[data-testid=behaviour-cell][data-model-id="${child.id}"] [data-testid=behaviour-clipped]`).count();
    report.glyph_scale.extent = extent;
    check("the collapsed model is named as clipped", report.glyph_scale.note === collapsed.id, JSON.stringify(report.glyph_scale));
    check("the scale fits the 80% model, not the collapsed one", Math.abs(extent - reach[child.id]) < 1e-9 && childClipped === 0,
      `extent ${extent}, reach ${JSON.stringify(reach)}, ${childClipped} clipped`);
    check("the collapsed model's far values are drawn as arrows",
      (await page.locator(`[data-testid=behaviour-cell][data-model-id="${collapsed.id}"] [data-testid=behaviour-clipped]`).count()) > 0);
  } else {
    check("no clipping when no model stands out", report.glyph_scale.note === null, JSON.stringify(report.glyph_scale));
  }
  await shot("behaviours-collapsed.png");
}

/** Issue 13 "Also": the transition matrix names its axes (rows: the base's predicted class,
 * columns: the model's), each title visible and naming its model. */
async function transitionAxisTitles({ page, check, report }) {
  const matrix = page.locator("[data-testid=transition-matrix]");
  const title = async (axis) => {
    const el = matrix.locator(`[data-testid=transition-axis-${axis}]`);
    if (!(await el.count()) || !(await el.isVisible())) return null;
    return (await el.evaluate((t) => t.firstChild?.textContent ?? "")).trim();
  };
  report.transitionAxes = { rows: await title("rows"), columns: await title("columns") };
  check(
    "the transition matrix titles both axes",
    /^base prediction/.test(report.transitionAxes.rows ?? "") && /^model prediction/.test(report.transitionAxes.columns ?? ""),
    JSON.stringify(report.transitionAxes),
  );
}
