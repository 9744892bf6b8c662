// Text data (the reviews workspace of tests/e2e/test_text_instances.py): the Behaviours
// drill-down, the PIE gallery and the Geometry view's fragile samples show each instance's
// text, clamped to a few lines and in full in its title, never an image. Records every card's
// text and size for the pytest side.
const BASE = "bag-s0";
const MODEL = "bag-s0-p95";
const DRILL_CLASS = "negative";
const BASELINE = "bag-s0,bag-s1";
const COMPRESSED = "op:prune.magnitude";

/** Every card's text once all of them have loaded, with its title and heights. */
async function readTextCards(page, card, timeout) {
  await page.waitForFunction(
    (sel) => {
      const cards = [...document.querySelectorAll(sel)];
      return cards.length > 0 &&
        cards.every((c) => c.querySelector("[data-testid=instance-text]")?.dataset.loaded === "true");
    },
    card,
    { timeout },
  );
  return page.$$eval(card, (cards) =>
    cards.map((c) => {
      const t = c.querySelector("[data-testid=instance-text]");
      return {
        instance: Number(c.dataset.instance),
        text: t.textContent.trim(),
        title: t.title,
        client_height: t.clientHeight,
        scroll_height: t.scrollHeight,
        line_height: parseFloat(getComputedStyle(t).lineHeight),
      };
    }),
  );
}

export default async function ({ page, url, models, check, shot, report, timeout }) {
  const byName = (name) => models.find((m) => m.name === name);
  const [base, model] = [byName(BASE), byName(MODEL)];
  check("the text workspace has its base and pruned model", Boolean(base && model), models.map((m) => m.name).join(", "));

  // Behaviours: drill into a class, as a user would
  await page.goto(new URL(`?sel=${base.id},${model.id}&base=${base.id}&view=behaviours`, url).href);
  await page.locator(`[data-testid=behaviour-class][data-class="${DRILL_CLASS}"]`).click({ timeout });
  await page.locator("[data-testid=behaviour-drill]").waitFor({ state: "visible", timeout });
  const drillCard = "[data-testid=drill-instance]";
  report.drill = {
    class: await page.locator("[data-testid=behaviour-drill]").getAttribute("data-class"),
    cards: await readTextCards(page, drillCard, timeout),
    images: await page.locator(`${drillCard} img`).count(),
  };
  check("the drill-down shows texts, no image", report.drill.images === 0 && report.drill.cards.length > 0,
    JSON.stringify(report.drill).slice(0, 300));
  await shot("text-drill.png");

  // PIEs: the gallery of the 95%-pruned population against the two seeds
  const q = new URLSearchParams({ view: "pies", "p.pies.baseline": BASELINE, "p.pies.compressed": COMPRESSED, "p.pies.by": "-" });
  await page.goto(new URL(`?${q}`, url).href);
  const pieCard = "[data-testid=pie-card]";
  report.pies = {
    cards: await readTextCards(page, pieCard, Math.max(timeout, 60000)),
    images: await page.locator(`${pieCard} img`).count(),
  };
  check("the PIE gallery shows texts, no image", report.pies.images === 0 && report.pies.cards.length > 0,
    JSON.stringify(report.pies).slice(0, 300));
  await shot("text-pies.png");

  // Geometry: the samples that crossed the decision boundary, base → pruned model
  await page.goto(new URL(`?sel=${model.id}&base=${base.id}&view=geometry`, url).href);
  const sampleCard = "[data-testid=geometry-sample]";
  await page.locator(sampleCard).first().waitFor({ state: "attached", timeout: Math.max(timeout, 60000) });
  report.geometry = {
    cards: (await readTextCards(page, sampleCard, timeout)).map((c) => ({ ...c, instance: undefined })),
    instances: await page.$$eval(sampleCard, (els) => els.map((e) => Number(e.dataset.index))),
    images: await page.locator(`${sampleCard} img`).count(),
  };
  check("the fragile samples show texts, no image", report.geometry.images === 0 && report.geometry.cards.length > 0,
    JSON.stringify(report.geometry).slice(0, 300));
  await shot("text-geometry.png");
}
