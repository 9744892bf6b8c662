// Run map_checks.mjs alone against a running compresslens server (used by test_map.py; the
// lead's drive.mjs can call the same module with its own ctx).
//
//   node run_map_checks.mjs URL
//   env: E2E_SCREENSHOTS (folder), E2E_TIMEOUT_MS
//
// Prints one JSON line { checks, map, consoleErrors, httpErrors, screenshots, error }; exits 1 if
// a check failed.
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import mapChecks from "./map_checks.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const url = process.argv[2];
if (!url) {
  console.error("usage: node run_map_checks.mjs URL");
  process.exit(2);
}
const shots = resolve(process.env.E2E_SCREENSHOTS ?? join(here, "..", "..", "build", "e2e-screenshots"));
const timeout = Number(process.env.E2E_TIMEOUT_MS ?? 15000);
// the flags of drive.mjs
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const out = { url, checks: [], map: {}, consoleErrors: [], httpErrors: [], screenshots: [], error: null };
const check = (name, ok, detail = "") => {
  out.checks.push({ name, ok, detail });
  if (!ok) throw new Error(`${name}: ${detail}`);
};
const api = async (path, params = {}) => {
  const target = new URL(path.replace(/^\//, ""), url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) target.searchParams.set(k, String(v));
  for (;;) {
    const r = await fetch(target);
    if (r.status === 202) {
      await new Promise((res) => setTimeout(res, 300));
      continue;
    }
    if (!r.ok) throw new Error(`GET ${target} answered ${r.status}`);
    return r.json();
  }
};

mkdirSync(shots, { recursive: true });
const models = (await api("api/models")).models;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(timeout);
  // as drive.mjs: "Failed to load resource" is logged without its address, so failed
  // responses are recorded with theirs (httpErrors) and the test decides which matter
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) out.consoleErrors.push(msg.text());
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && new URL(res.url()).pathname !== "/favicon.ico") out.httpErrors.push(`${res.status()} ${res.url()}`);
  });
  page.on("pageerror", (err) => out.consoleErrors.push(`uncaught: ${err.message}`));
  const shot = async (file) => {
    const path = join(shots, file);
    await page.screenshot({ path });
    out.screenshots.push(path);
    return path;
  };
  await mapChecks({ page, url, models, api, check, shot, report: out.map, timeout });
} catch (err) {
  out.error = String(err?.stack ?? err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
if (out.error || out.checks.some((c) => !c.ok)) process.exit(1);
