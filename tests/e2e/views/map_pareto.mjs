// The trade-off scatter with behaviour metrics as axes (issue 14): size against the negative
// flip rate vs the lineage root, opened from the URL (?x=…&y=…). Records the axis labels and
// the ringed (data-pareto) points, so tests/e2e/test_map_pareto.py compares the ring with
// `Workspace.pareto` on the same two objectives. Before the behaviour metrics existed the
// scatter had no such axis: no points, no ring.

export const PARETO_X = "model/compressed_bytes";
export const PARETO_Y = "fashion-mnist-test/negative_flip_rate";

export async function scatterBehaviourFrontier({ page, url, check, shots, report, timeout }) {
  const query = `x=${encodeURIComponent(PARETO_X)}&y=${encodeURIComponent(PARETO_Y)}`;
  await page.goto(new URL(`?${query}`, url).href);
  const scatter = page.locator("[data-testid=scatter]");
  await scatter.waitFor({ timeout });
  await page
    .waitForFunction(() => document.querySelectorAll("[data-testid=scatter-point]").length > 0, null, { timeout: 5000 })
    .catch(() => {});
  const axisLabels = await scatter
    .locator("text")
    .evaluateAll((els) => els.map((e) => (e.textContent ?? "").trim()).filter((t) => t.includes("better")));
  const ringed = await scatter
    .locator("[data-testid=scatter-point][data-pareto=true]")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-model-id")));
  const points = await scatter.locator("[data-testid=scatter-point]").count();
  const path = (await page.locator("[data-testid=pareto-frontier]").getAttribute("d")) ?? "";
  report.paretoBehaviour = { x: PARETO_X, y: PARETO_Y, axisLabels, ringed, points, path: path.length > 0 };
  check("the scatter plots size against the negative flip rate", points > 0, `${points} points`);
  check("its y axis reads 'Negative flip rate vs root', lower better",
    axisLabels.some((t) => t.startsWith("Negative flip rate vs root") && t.includes("↓ better")), JSON.stringify(axisLabels));
  check("the frontier is ringed and drawn", ringed.length > 0 && report.paretoBehaviour.path, JSON.stringify(ringed));
  await shots("map-08-pareto-bytes-nfr");
}
