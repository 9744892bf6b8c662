/** The shareable view state, kept in the URL query string. */
import type { LayoutMode } from "./layout";

export interface ViewState {
  selected: string[];
  base: string | null;
  x: string;
  y: string;
  color: string;
  size: string;
  layout: LayoutMode;
  /** the analysis tab shown under the map (a view id, see lib/views.ts) */
  view: string;
  /** metric filters: metric key -> [lo, hi]; models outside any range fade */
  filters: Record<string, [number, number]>;
  /** a view's own choices (e.g. "pies.baseline"), kept as "p.KEY=value" so a link restores them */
  params: Record<string, string>;
}

const VIEW_ID = /^[a-z][a-z0-9-]*$/;

export const EMPTY_STATE: ViewState = {
  selected: [],
  base: null,
  x: "",
  y: "",
  color: "",
  size: "",
  layout: "operation",
  view: "behaviours",
  filters: {},
  params: {},
};

/** Encode as a query string (without "?"); empty fields are left out, so defaults stay short. */
export function encodeState(s: ViewState): string {
  const q = new URLSearchParams();
  if (s.selected.length) q.set("sel", s.selected.join(","));
  if (s.base) q.set("base", s.base);
  if (s.x) q.set("x", s.x);
  if (s.y) q.set("y", s.y);
  if (s.color) q.set("color", s.color);
  if (s.size) q.set("size", s.size);
  if (s.layout !== "operation") q.set("layout", s.layout);
  if (s.view !== "behaviours") q.set("view", s.view);
  const filters = Object.entries(s.filters)
    .filter(([k, r]) => k && Number.isFinite(r[0]) && Number.isFinite(r[1]))
    .map(([k, [lo, hi]]) => `${k}:${lo}:${hi}`);
  if (filters.length) q.set("filter", filters.join(","));
  for (const [k, v] of Object.entries(s.params).sort()) if (k && v) q.set(`p.${k}`, v);
  // commas and slashes are legal in a query string: keep shared links readable
  return q.toString().replace(/%2C/gi, ",").replace(/%2F/gi, "/").replace(/%3A/gi, ":");
}

/** Decode a query string (with or without "?"); unknown or malformed values fall back to defaults. */
export function decodeState(search: string): ViewState {
  const q = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  const sel = (q.get("sel") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const layout = q.get("layout") === "step" ? "step" : "operation";
  // an unknown but well-formed id is kept: the app falls back when no view has it
  const view = VIEW_ID.test(q.get("view") ?? "") ? (q.get("view") as string) : "behaviours";
  const filters: Record<string, [number, number]> = {};
  for (const part of (q.get("filter") ?? "").split(",")) {
    // the key may itself contain ":" (e.g. "digits:accuracy"): the range is the last two fields
    const bits = part.split(":");
    if (bits.length < 3) continue;
    const lo = Number(bits[bits.length - 2]);
    const hi = Number(bits[bits.length - 1]);
    const key = bits.slice(0, -2).join(":");
    if (key && Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi) filters[key] = [lo, hi];
  }
  return {
    selected: [...new Set(sel)],
    base: q.get("base") || null,
    x: q.get("x") ?? "",
    y: q.get("y") ?? "",
    color: q.get("color") ?? "",
    size: q.get("size") ?? "",
    layout,
    view,
    filters,
    params: Object.fromEntries(
      [...q.entries()].filter(([k, v]) => k.startsWith("p.") && k.length > 2 && v).map(([k, v]) => [k.slice(2), v]),
    ),
  };
}

/** Whether a link restores an analysis: it names a view or a selection. The page then scrolls
 * to the analysis views on load, so a reloaded or shared view is not hidden below the map. */
export function restoresView(search: string): boolean {
  const s = decodeState(search);
  const q = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  return s.selected.length > 0 || q.has("view");
}
