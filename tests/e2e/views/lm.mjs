// The demo language model in the UI (the LM workspace of tests/e2e/test_view_lm.py): the
// Behaviours view on the held-out tokens (text coloured by agreement and KLD, flipped tokens
// sorted by the base's margin, generations with the first divergence marked), the LM metrics
// in the map, scatter and filters, and the Layers view of the norm-pruned child. Records what
// it saw for the pytest side to compare with the Python API.
const BASE = "lm-base";
// the demo's sweep names its models "lm-magnitude-norms-s0#…"; a hand-built one "lm-magnitude-norms"
const NORMS_PRUNED = "lm-magnitude-norms";
const NORMS_KEPT = "lm-magnitude";
const LM_METRICS = ["Perplexity", "KLD mean vs root", "Same top-1 token rate", "Tokens correct→incorrect"];

export default async function ({ page, url, models, check, shot, shots, report, timeout }) {
  const long = Math.max(timeout, 300_000); // a comparison or generation may run on first use
  const named = (prefix) => (m) => m.name === prefix || m.name.startsWith(`${prefix}-s`) || m.name.startsWith(`${prefix}#`);
  const base = models.find(named(BASE));
  const pruned = models.find(named(NORMS_PRUNED));
  const kept = models.find((m) => named(NORMS_KEPT)(m) && !m.name.includes("norms"));
  check("the workspace has the demo LM and its norm-pruned child", Boolean(base && pruned && kept),
    models.map((m) => m.name).join(", "));
  Object.assign(report, { base: base.id, model: pruned.id, kept: kept.id });

  // Behaviours: the norm-pruned child against the LM, token by token
  await page.goto(new URL(`?sel=${pruned.id}&base=${base.id}&view=behaviours`, url).href);
  const view = page.locator("[data-testid=lm-behaviours]");
  await view.waitFor({ state: "visible", timeout });
  report.dataset = await page.locator("[data-testid=behaviours]").getAttribute("data-dataset");
  const counts = page.locator("[data-testid=lm-counts]");
  await counts.waitFor({ state: "visible", timeout: long });
  report.counts = {
    correct_to_incorrect: Number(await counts.getAttribute("data-correct-to-incorrect")),
    incorrect_to_correct: Number(await counts.getAttribute("data-incorrect-to-correct")),
    tokens: Number(await counts.getAttribute("data-tokens")),
  };
  await page.locator("[data-testid=lm-token]").first().waitFor({ state: "attached", timeout: long });
  const tokens = page.locator("[data-testid=lm-token]");
  report.text = {
    shown: await tokens.count(),
    range: (await page.locator("[data-testid=lm-range]").textContent()).trim(),
    agreement: await tokens.evaluateAll((els) =>
      els.reduce((acc, el) => ({ ...acc, [el.dataset.agreement]: (acc[el.dataset.agreement] ?? 0) + 1 }), {})),
    firstFlipTitle: await tokens.evaluateAll((els) =>
      els.find((el) => el.dataset.agreement.endsWith("_to_correct") || el.dataset.agreement.endsWith("_to_incorrect"))?.title ?? ""),
    agreementBackgrounds: await tokens.evaluateAll((els) => new Set(els.map((el) => getComputedStyle(el).backgroundColor)).size),
  };
  check("the text shows tokens coloured by agreement", report.text.shown > 0 && report.text.agreementBackgrounds > 1,
    JSON.stringify(report.text).slice(0, 300));
  await shot("lm-01-behaviours-agreement.png");
  await shots("lm-00-behaviours"); // the token view at 1440×900 and 1024×700

  // KLD colouring
  await page.locator("[data-testid=lm-colour] input[value=kld]").check();
  await page.locator("[data-testid=lm-text][data-colour=kld]").waitFor({ state: "attached", timeout });
  report.text.kldBackgrounds = await tokens.evaluateAll((els) => new Set(els.map((el) => getComputedStyle(el).backgroundColor)).size);
  report.text.kldOrder = await tokens.evaluateAll((els) => {
    // a token of higher KLD is never lighter (its green channel no higher)
    const rows = els.map((el) => [Number(el.dataset.kld), Number(getComputedStyle(el).backgroundColor.match(/\d+/g)[1])]);
    rows.sort((a, b) => a[0] - b[0]);
    return rows.every((r, i) => i === 0 || r[1] <= rows[i - 1][1]);
  });
  await shot("lm-02-behaviours-kld.png");

  // the flipped tokens, sorted by the base's margin (ascending: the near ties first)
  const flips = page.locator("[data-testid=lm-flips]");
  await flips.waitFor({ state: "visible", timeout: long });
  report.flips = { rows: Number(await flips.getAttribute("data-rows")) };
  await page.locator("[data-testid=lm-flip-sort][data-key=kld]").click();
  await page.locator("[data-testid=lm-flip-sort][data-key=base_margin]").click();
  report.flips.margins = await page.locator("[data-testid=lm-flip]").evaluateAll((els) => els.map((el) => Number(el.dataset.margin)));
  report.flips.sortedAscending = report.flips.margins.every((m, i, a) => i === 0 || a[i - 1] <= m);
  report.flips.kinds = await page.locator("[data-testid=lm-flip]").evaluateAll((els) => [...new Set(els.map((el) => el.dataset.kind))]);
  // a flip opens its place in the text, marked
  const first = page.locator("[data-testid=lm-flip]").first();
  report.flips.clicked = Number(await first.getAttribute("data-index"));
  await first.locator("button").click();
  await page.locator(`[data-testid=lm-token].marked[data-index="${report.flips.clicked}"]`).waitFor({ state: "attached", timeout: long });
  report.flips.markedAgreement = await page.locator(`[data-testid=lm-token][data-index="${report.flips.clicked}"]`).getAttribute("data-agreement");

  // generations side by side, the first diverging token marked
  const generations = page.locator("[data-testid=lm-generations]");
  await generations.waitFor({ state: "visible", timeout: long });
  report.generations = await page.locator("[data-testid=lm-generation]").evaluateAll((rows) =>
    rows.map((row) => ({
      first: row.dataset.firstDivergence === "" ? null : Number(row.dataset.firstDivergence),
      marks: [...row.querySelectorAll("[data-testid=lm-divergence]")].map((el) => Number(el.dataset.position)),
    })));
  await generations.scrollIntoViewIfNeeded();
  await shot("lm-03-behaviours-flips-generations.png");

  // the LM metrics under readable names in the map's colour, the scatter's axes and the filters
  await page.goto(new URL(`?sel=${pruned.id}&base=${base.id}&view=details`, url).href);
  await page.locator("[data-testid=map-color]").waitFor({ state: "visible", timeout });
  const options = (testid) => page.locator(`[data-testid=${testid}] option`).evaluateAll((els) => els.map((el) => el.textContent.trim()));
  report.metrics = { color: await options("map-color"), x: await options("scatter-x") };
  const perplexity = report.metrics.color.find((l) => l.startsWith("Perplexity"));
  await page.locator("[data-testid=map-color]").selectOption({ label: perplexity });
  await page.locator("[data-testid=details-tab-filter]").click();
  await page.locator("[data-testid=filter-histogram]").first().waitFor({ state: "visible", timeout });
  report.metrics.filters = await page.locator("[data-testid=filter-histogram] .title").evaluateAll((els) => els.map((el) => el.textContent.trim()));
  for (const name of LM_METRICS) {
    check(`"${name}" is a metric of the map, the scatter and the filters`,
      [report.metrics.color, report.metrics.x, report.metrics.filters].every((list) => list.some((l) => l.startsWith(name))),
      JSON.stringify(report.metrics.color));
  }
  await shot("lm-04-metrics.png");

  // Layers: the norm-pruned and the norm-kept child against the LM
  await page.goto(new URL(`?sel=${pruned.id},${kept.id}&base=${base.id}&view=layers`, url).href);
  await page.locator("[data-testid=view-layers]").waitFor({ state: "visible", timeout });
  const cells = (id) => page.locator(`[data-testid=sparsity-cell][data-model-id="${id}"]`);
  for (const id of [pruned.id, kept.id]) await cells(id).first().waitFor({ state: "attached", timeout: long });
  const read = async (id) => Object.fromEntries(await cells(id).evaluateAll((els) => els.map((el) => [el.dataset.module, el.dataset.value])));
  report.layers = { [pruned.id]: await read(pruned.id), [kept.id]: await read(kept.id) };
  report.layers.rows = await page.locator("[data-testid=layer-row]").evaluateAll((els) => els.map((el) => el.dataset.module));
  report.layers.visibleNorms = await page.locator("[data-testid=layer-row]").evaluateAll((els) =>
    els.filter((el) => /norm/i.test(el.dataset.module ?? "") && el.getClientRects().length > 0).map((el) => el.dataset.module));
  await shot("lm-05-layers.png");
  await shots("lm-06-layers");
}
