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
}

export const EMPTY_STATE: ViewState = {
  selected: [],
  base: null,
  x: "",
  y: "",
  color: "",
  size: "",
  layout: "operation",
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
  // commas and slashes are legal in a query string: keep shared links readable
  return q.toString().replace(/%2C/gi, ",").replace(/%2F/gi, "/");
}

/** Decode a query string (with or without "?"); unknown or malformed values fall back to defaults. */
export function decodeState(search: string): ViewState {
  const q = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  const sel = (q.get("sel") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const layout = q.get("layout") === "step" ? "step" : "operation";
  return {
    selected: [...new Set(sel)],
    base: q.get("base") || null,
    x: q.get("x") ?? "",
    y: q.get("y") ?? "",
    color: q.get("color") ?? "",
    size: q.get("size") ?? "",
    layout,
  };
}
