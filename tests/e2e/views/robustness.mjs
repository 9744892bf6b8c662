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

// Steering jobs (issue 13 item 4): a long sweep (19 magnitude-pruned models × every corruption
// and severity on 1,000 images) runs from the view; a short sensitivity job posted meanwhile
// must finish while the sweep still runs (the sweep steps aside for it), the sweep's bar must
// fill and say its time left, and Cancel must stop it and offer the button again.
const LONG_LIMIT = 1000;
const QUEUED_LIMIT = 2000; // the same sweep on more images: as long, so it waits its turn
const SHORT_SENSITIVITY = { operation: "prune.magnitude", params: JSON.stringify({ amount: 0.3 }), limit: 200 };

async function jobsNow(api) {
  return (await api("/api/jobs")).jobs;
}

async function steerJobs({ page, url, models, api, check, shots, report, expectError }, family, slow) {
  // a cancelled sweep is "not computed" again: the view's GET of it answers 409 on purpose
  expectError(`limit=${LONG_LIMIT}`);
  expectError(`limit=${QUEUED_LIMIT}`);
  const long = models.filter((m) => m.name.startsWith("magnitude[")).slice(0, 19);
  const steering = (report.steering = { models: long.map((m) => m.id), base: family.base.id, limit: LONG_LIMIT });
  await page.goto(new URL(`?sel=${long.map((m) => m.id).join(",")}&base=${family.base.id}&view=robustness`, url).href);
  const view = page.locator(VIEW);
  await view.locator("[data-testid=robustness-corruption]").first().waitFor({ state: "visible", timeout: slow });
  for (const box of await view.locator("[data-testid=robustness-corruption]").all()) await box.setChecked(true);
  for (const box of await view.locator("[data-testid=robustness-severity]").all()) await box.setChecked(true);
  await view.locator("[data-testid=robustness-limit]").selectOption(String(LONG_LIMIT));
  const dataset = await view.locator("[data-testid=robustness-dataset]").inputValue();
  steering.dataset = dataset;
  steering.corruptions = await view.locator("[data-testid=robustness-corruption]:checked").evaluateAll((els) => els.map((e) => e.value));
  steering.severities = await view.locator("[data-testid=robustness-severity]:checked").evaluateAll((els) => els.map((e) => Number(e.value)));
  await view.locator("[data-testid=robustness-run]").click({ timeout: slow });

  // the bar fills by done/total once the first runs are done, and says the time left
  const fill = view.locator("[data-testid=robustness-progress-box] [data-testid=job-progress-fill]");
  steering.fillFraction = await page
    .waitForFunction(() => {
      const bar = document.querySelector("[data-testid=robustness-progress]");
      const f = Number(bar?.dataset.fraction || 0);
      return f > 0 && document.querySelector("[data-testid=job-estimate]")?.textContent?.includes("left") ? f : false;
    }, null, { timeout: slow, polling: 100 })
    .then((h) => h.jsonValue())
    .catch(() => 0);
  steering.fillWidth = (await fill.count()) ? ((await fill.boundingBox())?.width ?? 0) : 0;
  steering.estimate = (await view.locator("[data-testid=job-estimate]").count()) ? await view.locator("[data-testid=job-estimate]").textContent() : null;
  steering.progressText = (await view.locator("[data-testid=robustness-progress-text]").count())
    ? await view.locator("[data-testid=robustness-progress-text]").textContent()
    : "";
  check("the sweep's bar fills while it runs", steering.fillFraction > 0 && steering.fillWidth > 0, JSON.stringify(steering));
  check("the sweep says its time left", /~\d+ (s|min|h)/.test(steering.estimate ?? ""), String(steering.estimate));
  check("the progress never reads 0 / 0", !/\b0 ?\/ ?0\b|0 of 0/.test(steering.progressText), steering.progressText);
  await shots("robustness-01-running");

  // a short job posted meanwhile: queued behind the sweep, which steps aside for it
  const sweep = (await jobsNow(api)).find((j) => j.kind === "robustness" && j.state === "running");
  steering.sweepJob = sweep?.job ?? null;
  const short = new URL("api/sensitivity", url);
  for (const [k, v] of Object.entries({ model: family.children[0].id, dataset, ...SHORT_SENSITIVITY })) short.searchParams.set(k, String(v));
  steering.shortUrl = short.searchParams.toString();
  const postedAt = Date.now();
  const posted = await page.evaluate(async (u) => {
    const r = await fetch(u, { method: "POST" });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, short.href);
  steering.shortPosted = { status: posted.status, position: posted.body?.position ?? null, ahead: posted.body?.ahead ?? [] };
  const deadline = Date.now() + 60000; // a wait, not a timing: the sweep takes many minutes
  let answer = posted;
  while (answer.status === 202 && Date.now() < deadline) {
    await page.waitForTimeout(200);
    answer = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, body: await r.json().catch(() => null) };
    }, short.href);
  }
  steering.shortStatus = answer.status;
  steering.shortWaitedMs = Date.now() - postedAt; // for the record only: no timed assertion
  steering.shortRanking = answer.status === 200 ? answer.body.ranking.map((r) => [r.layer, r.drop]) : null;
  const afterShort = await jobsNow(api);
  steering.sweepStillRunning = afterShort.some((j) => j.job === steering.sweepJob && j.state === "running");
  check(
    "the short job was queued behind the sweep, told when it steps aside",
    posted.status === 200 || (steering.shortPosted.position === 1 && steering.shortPosted.ahead[0]?.until === "next_step"),
    JSON.stringify(steering.shortPosted),
  );
  check(
    "the short job finished while the long sweep still ran",
    steering.shortStatus === 200 && steering.sweepStillRunning,
    JSON.stringify({ status: steering.shortStatus, sweepStillRunning: steering.sweepStillRunning }),
  );

  // a second sweep as long as the first waits for it to finish, and its panel says so
  await view.locator("[data-testid=robustness-limit]").selectOption(String(QUEUED_LIMIT));
  await view.locator("[data-testid=robustness-run]").click({ timeout: slow });
  const queue = view.locator("[data-testid=robustness-progress-box] [data-testid=job-queue]");
  steering.queueText = await queue
    .waitFor({ state: "visible", timeout: slow })
    .then(() => queue.textContent())
    .catch(() => null);
  steering.queuePosition = steering.queueText ? Number(await queue.getAttribute("data-position")) : null;
  check(
    "a second long sweep shows its place in the queue, the job ahead and its time left",
    steering.queuePosition === 1 && /^waiting: 1 job ahead: robustness of 20 models × 46 conditions, ~\d+ (s|min|h)/.test(steering.queueText ?? ""),
    String(steering.queueText),
  );
  await shots("robustness-03-queued");
  await view.locator("[data-testid=robustness-cancel]").click(); // a queued job is dropped at once
  await view.locator("[data-testid=robustness-run]").waitFor({ state: "visible", timeout: slow });
  await view.locator("[data-testid=robustness-limit]").selectOption(String(LONG_LIMIT)); // back to the running sweep
  await view.locator("[data-testid=robustness-cancel]").waitFor({ state: "visible", timeout: slow });

  // Cancel stops the sweep and the view offers to start it again
  await view.locator("[data-testid=robustness-cancel]").click();
  steering.offeredAgain = await view
    .locator("[data-testid=robustness-run]")
    .waitFor({ state: "visible", timeout: 60000 })
    .then(() => true)
    .catch(() => false);
  steering.jobsAfterCancel = (await jobsNow(api)).filter((j) => j.kind === "robustness").map((j) => j.state);
  check("Cancel stops the sweep and offers to compute it again", steering.offeredAgain && steering.jobsAfterCancel.length === 0, JSON.stringify(steering.jobsAfterCancel));
  await shots("robustness-02-cancelled");
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

export default async function (ctx) {
  const { page, url, api, check, shot, shots, report, timeout } = ctx;
  const slow = Math.max(timeout, 120000); // a fresh workspace runs 3 models × 5 conditions
  const models = (await api("/api/models")).models;
  const family = findFamily(models);
  check("a lean_cnn seed with 80% and 95% magnitude-pruned children exists", family !== null);
  await steerJobs(ctx, family, slow);
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
