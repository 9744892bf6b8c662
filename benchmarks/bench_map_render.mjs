// Model Map render benchmark: 1,000 synthetic models in Debian's chromium.
//
//   node benchmarks/bench_map_render.mjs [--models 1000] [--static DIR] [--json] [--shot FILE.png]
//
// The issue asks that the Model Map "stay smooth with 1,000 models". No server and no workspace
// are needed: playwright's page.route answers `api/models` with a generated provenance DAG
// (10 trained roots, 2 standalone bases, chains of pruning / quantization / fine-tuning with
// parameters and metrics) and serves the built front end from DIR (default: $COMPRESSLENS_STATIC_DIR,
// else the package's static folder, built by `make frontend`).
//
// It reports
//   - first render: milliseconds from navigation start until every map node is in the page
//     and a frame has been painted;
//   - zoom: requestAnimationFrame deltas while one wheel event is dispatched per frame;
//   - pan: the same while the map is dragged one step per frame;
// as median / p95 / max frame time in ms (16.7 ms = 60 fps), and the longest frame in the 400 ms
// after the gesture (the map is redrawn for the new zoom once a gesture ends); and, because frame
// times on a loaded machine mostly measure the load, the CPU time the renderer spent per gesture
// frame (CDP Performance metrics: main thread, and the whole renderer process with raster). Chromium runs with the flags of
// tests/e2e/drive.mjs (headless, software rendering: --disable-gpu), so the figures are a
// pessimistic bound for a desktop browser with a GPU.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../tests/e2e/chromium.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const require = createRequire(join(repo, "tests", "e2e", "package.json"));
const { chromium } = require("playwright-core");

const ORIGIN = "http://compresslens.bench";
const FRAMES = 60;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** A deterministic pseudo-random generator (mulberry32), so every run draws the same DAG. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPS = [
  ["prune.magnitude", (r) => ({ amount: [0.5, 0.8, 0.9, 0.95][Math.floor(r() * 4)], scope: "global" })],
  ["prune.structured", (r) => ({ amount: [0.25, 0.5][Math.floor(r() * 2)], dim: 0 })],
  ["quantize.dynamic_int8", () => ({})],
  ["quantize.weight_only", (r) => ({ bits: [4, 8][Math.floor(r() * 2)] })],
  ["lowrank.svd", (r) => ({ rank_ratio: [0.25, 0.5][Math.floor(r() * 2)] })],
  ["train.finetune", (r) => ({ epochs: 1 + Math.floor(r() * 3), lr: 0.001 })],
];

/** `n` models shaped like GET /api/models: a forest of compression chains. */
export function syntheticModels(n) {
  const r = rng(5);
  const models = [];
  const metrics = (acc, bytes) => ({
    model: { compressed_bytes: bytes, parameters: bytes / 4, sparsity: 1 - bytes / 400000 },
    "synthetic-test": { accuracy: acc, loss: 1 - acc },
  });
  for (let i = 0; i < Math.min(n, 2); i++) {
    models.push({ id: `base${i}`, name: `standalone-${i}`, operation: null, metrics: metrics(0.9, 400000), tags: [] });
  }
  for (let i = 0; models.length < Math.min(n, 12); i++) {
    models.push({
      id: `root${i}`,
      name: `net-s${i}`,
      operation: { name: "train.scratch", params: { epochs: 2, seed: i }, parents: [] },
      metrics: metrics(0.86 + r() * 0.04, 400000),
      tags: [],
    });
  }
  while (models.length < n) {
    const parent = models[2 + Math.floor(r() * (models.length - 2))];
    const [op, params] = OPS[Math.floor(r() * OPS.length)];
    const acc = Math.max(0.1, parent.metrics["synthetic-test"].accuracy - r() * 0.05);
    const bytes = Math.max(2000, parent.metrics.model.compressed_bytes * (0.4 + r() * 0.6));
    const id = `m${models.length}`;
    models.push({
      id,
      name: `${op.split(".")[1]}-${id}`,
      operation: { name: op, params: params(r), parents: [{ id: parent.id, role: "parent" }] },
      metrics: metrics(acc, Math.round(bytes)),
      tags: [],
    });
  }
  return models;
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

function stats(deltas) {
  const s = [...deltas].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { frames: s.length, median_ms: +q(0.5).toFixed(1), p95_ms: +q(0.95).toFixed(1), max_ms: +s[s.length - 1].toFixed(1) };
}

async function main() {
  const n = Number(option("models", "1000"));
  const staticDir = resolve(
    option("static", process.env.COMPRESSLENS_STATIC_DIR ?? join(repo, "src", "compresslens", "server", "static")),
  );
  if (!existsSync(join(staticDir, "index.html"))) {
    console.error(`no built front end in ${staticDir} (make frontend, or --static DIR)`);
    process.exit(2);
  }
  const body = JSON.stringify({ models: syntheticModels(n) });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route(`${ORIGIN}/**`, async (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === "/api/models") return route.fulfill({ contentType: "application/json", body });
      if (path === "/api/datasets") return route.fulfill({ contentType: "application/json", body: '{"datasets":[]}' });
      if (path.startsWith("/api/")) return route.fulfill({ status: 404, contentType: "application/json", body: "{}" });
      const file = join(staticDir, path === "/" ? "index.html" : path);
      if (!file.startsWith(staticDir) || !existsSync(file)) return route.fulfill({ status: 404, body: "" });
      return route.fulfill({ contentType: TYPES[extname(file)] ?? "application/octet-stream", body: readFileSync(file) });
    });

    // CPU time, which the load of a shared machine disturbs far less than frame times:
    // ThreadTime = the renderer's main thread, ProcessTime = the whole renderer (raster included)
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const cpu = async () => {
      const { metrics } = await cdp.send("Performance.getMetrics");
      const get = (name) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
      return { main: get("ThreadTime"), renderer: get("ProcessTime") };
    };

    await page.goto(`${ORIGIN}/`);
    const firstRender = await page.evaluate(async (count) => {
      const done = () => document.querySelectorAll("[data-testid=map-node]").length >= count;
      while (!done()) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now();
    }, n);
    const cpuAtFirstRender = await cpu();

    const frameTimes = (kind) =>
      page.evaluate(
        async ({ kind, frames }) => {
          const svg = document.querySelector("[data-testid=model-map]");
          const box = svg.getBoundingClientRect();
          const cx = box.left + box.width / 2;
          const cy = box.top + box.height / 2;
          const frame = () => new Promise((r) => requestAnimationFrame(r));
          const deltas = [];
          const viewport = () => document.querySelector("[data-testid=map-viewport]")?.getAttribute("transform") ?? "";
          const before = viewport();
          if (kind === "pan") {
            svg.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, view: window, clientX: cx, clientY: cy, button: 0 }));
          }
          let last = await frame();
          for (let i = 0; i < frames; i++) {
            if (kind === "zoom") {
              const deltaY = i < frames / 2 ? -40 : 40; // zoom in, then back out
              svg.dispatchEvent(new WheelEvent("wheel", { bubbles: true, cancelable: true, view: window, clientX: cx, clientY: cy, deltaY }));
            } else {
              const dx = 6 * Math.sin((i / frames) * 2 * Math.PI) * 10;
              window.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, view: window, clientX: cx + dx, clientY: cy + i * 3 }));
            }
            const now = await frame();
            deltas.push(now - last);
            last = now;
          }
          if (kind === "pan") window.dispatchEvent(new MouseEvent("mouseup", { bubbles: true, view: window, clientX: cx, clientY: cy }));
          // the gesture's end redraws the map for the new zoom: the longest frame in the next 400 ms
          let settle = 0;
          const until = performance.now() + 400;
          while (performance.now() < until) {
            const now = await frame();
            settle = Math.max(settle, now - last);
            last = now;
          }
          return { deltas, settle, moved: viewport() !== before };
        },
        { kind, frames: FRAMES },
      );
    const measure = async (kind) => {
      const before = await cpu();
      const { deltas, settle, moved } = await frameTimes(kind);
      const after = await cpu();
      if (!moved) errors.push(`the ${kind} gesture did not move the map`);
      return {
        ...stats(deltas),
        settle_frame_ms: +settle.toFixed(1),
        // CPU per gesture frame, the redraw at its end included
        main_cpu_ms_per_frame: +((after.main - before.main) / FRAMES).toFixed(2),
        renderer_cpu_ms_per_frame: +((after.renderer - before.renderer) / FRAMES).toFixed(2),
      };
    };
    const zoom = await measure("zoom");
    const pan = await measure("pan");
    const nodes = await page.locator("[data-testid=map-node]").count();
    const shotPath = option("shot", null);
    if (shotPath) await page.screenshot({ path: resolve(shotPath) });
    const result = {
      models: n,
      nodes,
      first_render_ms: Math.round(firstRender),
      first_render_main_cpu_ms: Math.round(cpuAtFirstRender.main),
      zoom,
      pan,
      page_errors: errors,
    };
    if (process.argv.includes("--json")) console.log(JSON.stringify(result));
    else {
      console.log(`models: ${n} (map nodes in page: ${nodes})`);
      console.log(
        `first render: ${result.first_render_ms} ms after navigation start ` +
          `(main-thread CPU ${result.first_render_main_cpu_ms} ms)`,
      );
      for (const [k, v] of Object.entries({ zoom, pan })) {
        console.log(
          `${k}: frame median ${v.median_ms} ms, p95 ${v.p95_ms} ms, max ${v.max_ms} ms over ${v.frames} frames; ` +
            `redraw when it ends: ${v.settle_frame_ms} ms; CPU per frame: main thread ` +
            `${v.main_cpu_ms_per_frame} ms, renderer ${v.renderer_cpu_ms_per_frame} ms`,
        );
      }
      if (errors.length) console.log(`page errors: ${errors.join(" | ")}`);
    }
    if (errors.length || nodes < n) process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
