// The no-regression verdict as a badge in the selection panel: select one compressed model
// with its parent as the base (int8 of seed 0: passes; magnitude 0.8 of seed 0: a regression,
// both found by operation and seed), read the badge's verdict and colour, and compare it with
// GET /api/verdict. test_view_verdict.py confirms the recorded verdicts with Workspace.verdict.

const BADGE = "[data-testid=verdict-badge]";

export default async function ({ page, url, models, api, check, shots, report, timeout }) {
  const seed0 = (op, amount) =>
    models.find((m) => m.operation?.name === op && m.operation?.seed === 0
      && (amount === undefined || m.operation?.params?.amount === amount)
      && m.metrics?.["fashion-mnist-test"]);
  const cases = { int8: seed0("quantize.dynamic_int8"), magnitude: seed0("prune.magnitude", 0.8) };
  report.cases = {};
  for (const [name, model] of Object.entries(cases)) {
    const base = model.operation.parents[0].id;
    await page.goto(new URL(`?sel=${model.id}&base=${base}`, url).href);
    const badge = page.locator(BADGE);
    await badge.waitFor({ state: "visible", timeout });
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.verdict, BADGE, { timeout });
    const shown = {
      verdict: await badge.getAttribute("data-verdict"),
      text: (await badge.textContent()).trim(),
      color: await badge.evaluate((el) => getComputedStyle(el).borderColor),
    };
    const answer = await api("/api/verdict", { base, model: model.id });
    check(`${name}: the badge shows /api/verdict's verdict`, shown.verdict === answer.verdict,
      `badge ${shown.verdict}, API ${answer.verdict}`);
    // at a glance: on a 1024×700 page, unscrolled, the badge is drawn (not clipped by its
    // panel, not below the fold)
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(150);
    const onTop = await badge.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit !== null && el.contains(hit);
    });
    await page.setViewportSize({ width: 1440, height: 900 });
    check(`${name}: the badge is visible at 1024×700 without scrolling`, onTop);
    report.cases[name] = { base, model: model.id, ...shown, onTop };
    await shots(`verdict-${name}`);
  }
  const pass = report.cases.int8, fail = report.cases.magnitude;
  check("a passing verdict and a regression differ in colour", pass.color !== fail.color,
    `${pass.color} vs ${fail.color}`);
  check("the regression names its worst group", /Shirt/.test(fail.text), fail.text);
}
