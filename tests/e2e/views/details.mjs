// Selection details view: select the magnitude-pruned models of seeds 0 and 1 (found by
// operation and seed, not by id), read the differing variables and the bars the page draws,
// then brush one metric histogram and type a range in another, recording the passing counts.
// test_view_details.py recomputes every number from the Python API.

const attr = (el, name) => el.getAttribute(name);

async function readVariables(page) {
  return page.$$eval("[data-testid=details-variable-row]", (rows) =>
    rows.map((r) => ({
      key: r.dataset.variable,
      label: r.dataset.label,
      kind: r.dataset.kind,
      levels: [...r.querySelectorAll("[data-testid=details-level]")].map((l) => ({
        level: l.dataset.level,
        count: Number(l.dataset.count),
      })),
    })),
  );
}

async function readBars(page) {
  return page.$$eval("[data-testid=details-bar]", (bars) =>
    bars.map((b) => ({
      metric: b.dataset.metric,
      group: b.dataset.group,
      level: b.dataset.level,
      value: Number(b.dataset.value),
      count: Number(b.dataset.count),
      min: Number(b.dataset.min),
      max: Number(b.dataset.max),
    })),
  );
}

/** The box of an element once it stops moving (a full-page screenshot reflows the page). */
async function stableBox(page, locator) {
  let last = await locator.boundingBox();
  for (let i = 0; i < 20; i += 1) {
    await page.waitForTimeout(100);
    const box = await locator.boundingBox();
    if (box && last && box.x === last.x && box.y === last.y && box.width === last.width) return box;
    last = box;
  }
  return last;
}

async function passing(page) {
  const el = page.locator("[data-testid=filter-passing]");
  return Number(await el.getAttribute("data-count"));
}

export default async function (ctx) {
  await variablesAndFilters(ctx);
  // each check of the mixed selection is recorded even when an earlier one failed
  const failures = [];
  const check = (name, ok, detail) => { try { ctx.check(name, ok, detail); } catch (e) { failures.push(e); } };
  await operationsApart({ ...ctx, check });
  if (failures.length) throw failures[0];
}

async function variablesAndFilters({ page, url, models, check, shot, report, timeout }) {
  // 1. fewer than two models: a message, no chart
  const one = models.find((m) => m.operation?.name === "prune.magnitude");
  await page.goto(new URL(`?sel=${one.id}&view=details`, url).href);
  await page.locator("[data-testid=details-empty]").waitFor({ state: "visible" });
  check("one model gives the 'select two or more' message",
    /two or more/i.test(await page.locator("[data-testid=details-empty]").textContent()));

  // 2. the magnitude-pruned image models of seeds 0 and 1 (global and local scope; the demo
  // LM's pruned children are measured on other data)
  const chosen = models.filter(
    (m) =>
      m.operation?.name === "prune.magnitude" &&
      [0, 1].includes(m.operation?.seed) &&
      "fashion-mnist-test" in (m.metrics ?? {}),
  );
  check("magnitude-pruned models of seeds 0 and 1 exist", chosen.length >= 6, `${chosen.length}`);
  report.selected = chosen.map((m) => m.id);
  await page.goto(new URL(`?sel=${report.selected.join(",")}&view=details`, url).href);
  await page.locator("[data-testid=details-variable-row]").first().waitFor({ state: "visible" });
  report.variables = await readVariables(page);
  const amount = report.variables.find((v) => v.label === "prune · amount");
  check("amount is a differing variable", amount !== undefined, JSON.stringify(report.variables.map((v) => v.label)));
  report.ancestor = await page.locator("[data-testid=details-ancestor]").textContent();

  // group by amount (the default, chosen explicitly so the test does not depend on it)
  await page.selectOption("[data-testid=details-variable]", amount.key);
  await page.waitForFunction(
    (label) => [...document.querySelectorAll("[data-testid=details-chart] figcaption")].every((f) => f.textContent.includes(label)),
    amount.label,
    { timeout },
  );
  report.groupBy = amount.label;
  report.bars = await readBars(page);
  report.charts = await page.$$eval("[data-testid=details-chart]", (cs) => cs.map((c) => c.dataset.metric));
  check("a bar per amount level in every chart",
    report.bars.length === amount.levels.length * report.charts.length,
    `${report.bars.length} bars, ${report.charts.length} charts`);
  report.legend = await page.locator("[data-testid=details-legend]").textContent();
  await shot("details-01-by-amount.png");

  // split the bars by the seed variable too (a grouped bar chart), for the screenshot
  const seed = report.variables.find((v) => v.label.endsWith("seed"));
  if (seed) {
    await page.selectOption("[data-testid=details-split]", seed.key);
    await page.locator(`[data-testid=details-bar][data-level="${seed.levels[1].level}"]`).first().waitFor();
    report.splitBars = await readBars(page);
    await shot("details-02-by-amount-and-seed.png");
  }

  // the group-by and split variables and the chosen metrics are in the URL: a shared link restores them
  const dropped = report.charts[report.charts.length - 1];
  await page.locator(`[data-testid=details-metric][value="${dropped}"]`).setChecked(false);
  await page.waitForFunction((key) => !document.querySelector(`[data-testid=details-chart][data-metric="${key}"]`), dropped, { timeout });
  const charts = await page.$$eval("[data-testid=details-chart]", (cs) => cs.map((c) => c.dataset.metric));
  const shared = page.url();
  const sq = new URL(shared).searchParams;
  check(
    "the URL keeps the group-by and split variables and the metrics",
    sq.get("p.det.by") === amount.key && (!seed || sq.get("p.det.split") === seed.key) && sq.get("p.det.metrics") === charts.join(","),
    shared,
  );
  await page.goto(shared, { waitUntil: "load" });
  await page.locator("[data-testid=details-chart]").first().waitFor({ state: "visible", timeout });
  report.sharedLink = {
    variable: await page.locator("[data-testid=details-variable]").inputValue(),
    split: await page.locator("[data-testid=details-split]").inputValue(),
    charts: await page.$$eval("[data-testid=details-chart]", (cs) => cs.map((c) => c.dataset.metric)),
  };
  check(
    "the shared link restores the variables and the metrics",
    report.sharedLink.variable === amount.key && report.sharedLink.split === (seed ? seed.key : "") &&
      JSON.stringify(report.sharedLink.charts) === JSON.stringify(charts),
    JSON.stringify(report.sharedLink),
  );

  // 3. metric filter tab: brush the accuracy histogram, then type a size range
  await page.locator("[data-testid=details-tab-filter]").click();
  await page.locator("[data-testid=filter-histogram]").first().waitFor({ state: "visible" });
  const total = Number(await page.locator("[data-testid=filter-passing]").getAttribute("data-total"));
  check("no filter: every model passes", (await passing(page)) === total, `${await passing(page)} of ${total}`);
  const accKey = await page.$eval("[data-testid=filter-histogram][data-metric$='/accuracy']", (el) => el.dataset.metric);
  const hist = page.locator(`[data-testid=filter-histogram][data-metric="${accKey}"]`);
  const overlay = hist.locator("[data-testid=filter-overlay]");
  await overlay.scrollIntoViewIfNeeded();
  const box = await stableBox(page, overlay);
  const yMid = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.55, yMid);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.8, yMid, { steps: 5 });
  // past the right edge: the brush clamps to the highest value
  await page.mouse.move(box.x + box.width * 1.1, yMid, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((k) => document.querySelector(`[data-testid=filter-histogram][data-metric="${k}"]`)?.dataset.lo !== "", accKey, { timeout });
  report.brush = {
    key: accKey,
    lo: Number(await hist.getAttribute("data-lo")),
    hi: Number(await hist.getAttribute("data-hi")),
    inRange: Number(await hist.getAttribute("data-in-range")),
    passing: await passing(page),
  };
  check("the brush filters some models out", report.brush.passing < total, JSON.stringify(report.brush));
  await shot("details-03-filter-brushed.png");

  // keyboard: type a compressed-size range and press Enter
  const sizeKey = "model/compressed_bytes";
  const size = page.locator(`[data-testid=filter-histogram][data-metric="${sizeKey}"]`);
  await size.locator("[data-testid=filter-lo]").fill("100000");
  await size.locator("[data-testid=filter-hi]").fill("300000");
  await size.locator("[data-testid=filter-hi]").press("Enter");
  await page.waitForFunction((k) => document.querySelector(`[data-testid=filter-histogram][data-metric="${k}"]`)?.dataset.lo === "100000", sizeKey, { timeout });
  report.typed = {
    key: sizeKey,
    lo: Number(await size.getAttribute("data-lo")),
    hi: Number(await size.getAttribute("data-hi")),
    inRange: Number(await size.getAttribute("data-in-range")),
    passing: await passing(page),
  };
  report.url = page.url();
  await shot("details-04-filter-typed.png");

  // clear one, then all, from the keyboard (a full-page screenshot reflows the page, so
  // no pointer coordinates are relied on here)
  await size.locator("[data-testid=filter-clear]").focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction((k) => document.querySelector(`[data-testid=filter-histogram][data-metric="${k}"]`)?.dataset.lo === "", sizeKey, { timeout });
  report.afterClearOne = await passing(page);
  await page.locator("[data-testid=filter-clear-all]").focus();
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.querySelector("[data-testid=filter-passing]")?.dataset.count === document.querySelector("[data-testid=filter-passing]")?.dataset.total, null, { timeout });
  report.afterClearAll = await passing(page);
  check("clear all: every model passes again", report.afterClearAll === total, `${report.afterClearAll} of ${total}`);
  report.total = total;
}

/** The groups a chart draws, each with the ids of its models (read from the bars; a UI that
 * does not say falls back to the models at that level of the grouping variable). */
async function readGroups(page, fallback) {
  const bars = await page.$$eval("[data-testid=details-chart]:first-of-type [data-testid=details-bar]", (rects) =>
    rects.map((b) => ({ group: b.dataset.group, ids: b.dataset.ids ? b.dataset.ids.split(",") : null })),
  );
  const groups = new Map();
  for (const b of bars) groups.set(b.group, [...(groups.get(b.group) ?? []), ...(b.ids ?? fallback(b.group))]);
  return [...groups].map(([group, ids]) => ({ group, ids: [...new Set(ids)] }));
}

/** The level texts under a chart's groups as drawn (its lines joined; the <title> left out),
 * beside the level each names in full. */
async function readTicks(page) {
  return page.$$eval("[data-testid=details-chart]:first-of-type .glabel", (labels) =>
    labels.map((el) => ({
      full: el.dataset.group ?? el.querySelector("title")?.textContent ?? "",
      shown: [...el.childNodes].filter((n) => n.nodeName !== "title").map((n) => n.textContent).join(""),
    })),
  );
}

/** Issue 13 item 6: base, int8, magnitude and structured pruning of one seed, grouped by the
 * pruning amount, never share a group across operations; the default grouping's ticks are
 * the levels in full; a sub-millisecond latency never reads "0". */
async function operationsApart({ page, url, models, check, shots, report, timeout }) {
  const image = (m) => "fashion-mnist-test" in (m.metrics ?? {});
  const int8 = models.find((m) => m.operation?.name === "quantize.dynamic_int8" && m.operation?.seed === 0 && image(m) &&
    models.some((p) => p.id === m.operation.parents[0].id && p.operation?.name === "train.scratch"));
  const base = models.find((m) => m.id === int8.operation.parents[0].id);
  const children = (op) => models.filter((m) => m.operation?.name === op && m.operation.parents[0]?.id === base.id &&
    (op !== "prune.magnitude" || m.operation.params.scope === "global"));
  const chosen = [base, int8, ...children("prune.magnitude"), ...children("prune.structured")];
  report.mixed = { selected: chosen.map((m) => m.id) };
  const opOf = (id) => models.find((m) => m.id === id)?.operation?.name ?? "(none)";

  // the default grouping, on a fresh link: every tick names its level in full
  await page.goto(new URL(`?sel=${report.mixed.selected.join(",")}&view=details`, url).href);
  await page.locator("[data-testid=details-chart] .glabel").first().waitFor({ state: "visible", timeout });
  report.mixed.defaultBy = await page.locator("[data-testid=details-variable] option:checked").textContent();
  report.mixed.defaultTicks = await readTicks(page);
  check("the default grouping's ticks name their levels in full",
    report.mixed.defaultTicks.length > 1 && report.mixed.defaultTicks.every((t) => t.shown === t.full && !t.shown.includes("…")),
    JSON.stringify(report.mixed.defaultTicks));
  await shots("details-05-default-grouping");

  // grouped by the pruning amount: base and int8 (no amount), magnitude and structured (0.5)
  // stay apart
  const variables = await readVariables(page);
  const amount = variables.find((v) => v.label === "prune · amount");
  await page.selectOption("[data-testid=details-variable]", amount.key);
  await page.waitForFunction(
    (label) => [...document.querySelectorAll("[data-testid=details-chart] figcaption")].every((f) => f.textContent.includes(label)),
    amount.label,
    { timeout },
  );
  const amountOf = (m) => (m.operation?.params && "amount" in m.operation.params ? String(m.operation.params.amount) : "(none)");
  const atLevel = (group) => chosen.filter((m) => amountOf(m) === group).map((m) => m.id);
  report.mixed.groups = await readGroups(page, atLevel);
  const pooled = report.mixed.groups.filter((g) => new Set(g.ids.map(opOf)).size > 1);
  check("no group pools two operations",
    report.mixed.groups.length > 0 && pooled.length === 0,
    JSON.stringify(pooled.map((g) => ({ group: g.group, operations: [...new Set(g.ids.map(opOf))] }))));
  report.mixed.ticks = await readTicks(page);
  check("every group's tick is its name in full", report.mixed.ticks.every((t) => t.shown === t.full),
    JSON.stringify(report.mixed.ticks));

  // sub-millisecond latencies are written with their digits, never "0"
  report.mixed.latencyTitles = await page.$$eval(
    "[data-testid=details-bar][data-metric='model/latency_ms_b1'] title",
    (titles) => titles.map((t) => /mean (\S+)/.exec(t.textContent)?.[1] ?? ""),
  );
  check("latency means are never written as 0",
    report.mixed.latencyTitles.length > 0 && report.mixed.latencyTitles.every((v) => Number(v) > 0),
    JSON.stringify(report.mixed.latencyTitles));
  await shots("details-06-by-amount-operations-apart");
}
