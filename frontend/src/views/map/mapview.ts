/**
 * Pure helpers of the Model Map's interaction: box selection, edge labels and keyboard moves.
 * Kept out of ModelMap.svelte so that they can be tested without a browser.
 */
import type { NodePos } from "../../lib/layout";

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Placed {
  id: string;
  x: number;
  y: number;
}

/** A zoom transform as d3-zoom gives it: screen = map · k + (x, y). */
export interface Transform {
  x: number;
  y: number;
  k: number;
}

/** The box with its corners ordered (x0 ≤ x1, y0 ≤ y1), whichever way it was dragged. */
export function normalizeBox(b: Box): Box {
  return { x0: Math.min(b.x0, b.x1), y0: Math.min(b.y0, b.y1), x1: Math.max(b.x0, b.x1), y1: Math.max(b.y0, b.y1) };
}

/** A box drawn on screen, in the map's own coordinates (undoing pan and zoom). */
export function screenBoxToMap(b: Box, t: Transform): Box {
  const n = normalizeBox(b);
  return { x0: (n.x0 - t.x) / t.k, y0: (n.y0 - t.y) / t.k, x1: (n.x1 - t.x) / t.k, y1: (n.y1 - t.y) / t.k };
}

/** Ids of the points whose centre lies inside the box (edges included), in input order. */
export function idsInBox(points: Placed[], b: Box): string[] {
  const n = normalizeBox(b);
  return points.filter((p) => p.x >= n.x0 && p.x <= n.x1 && p.y >= n.y0 && p.y <= n.y1).map((p) => p.id);
}

/** True when a drag is too short to be a box (a click that wobbled). */
export function isClick(b: Box, tolerance = 4): boolean {
  return Math.abs(b.x1 - b.x0) < tolerance && Math.abs(b.y1 - b.y0) < tolerance;
}

/**
 * "amount=0.8, scope=global, include=[…]": an operation's parameters, nulls left out, scalars
 * first (the values that tell sibling experiments apart: amount, bits, rank…), lists and
 * objects (layer patterns) after them as JSON. `compact` also leaves out empty lists/objects.
 */
export function paramText(params: Record<string, unknown> | undefined | null, compact = false): string {
  const isEmpty = (v: unknown) => typeof v === "object" && v !== null && Object.keys(v).length === 0;
  return Object.entries(params ?? {})
    .filter(([, v]) => v !== null && v !== undefined && !(compact && isEmpty(v)))
    .map(([k, v], i) => ({ k, v, i, late: typeof v === "object" ? 1 : 0 }))
    .sort((a, b) => a.late - b.late || a.i - b.i)
    .map(({ k, v }) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

/** The label of an edge: the operation and its parameters, cut to `max` characters. */
export function edgeLabel(op: string, params: Record<string, unknown> | undefined | null, max = 60): string {
  const p = paramText(params, true);
  const text = p ? `${op}(${p})` : op;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export type NavKey = "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" | "Home" | "End";

/** The nodes in reading order: by row, then column. */
export function readingOrder(nodes: Iterable<NodePos>): NodePos[] {
  return [...nodes].sort((a, b) => a.row - b.row || a.col - b.col);
}

/**
 * Where an arrow key moves the keyboard focus on the map. Right/left: the next node on the same
 * row (a chain reads left to right), else for left the parent the node was derived from (a
 * sibling's row starts below its parent). Up/down: the next row of nodes that way, at the
 * column closest to `col` (default: the node's own; a caller keeps the column an up/down run
 * started from, so Down then Up comes back).
 * Home/End: first/last node in reading order. Null when there is nowhere to go.
 */
export function neighbour(
  nodes: Map<string, NodePos>,
  id: string,
  key: NavKey,
  parentOf: (id: string) => string | null,
  col?: number,
): string | null {
  const here = nodes.get(id);
  if (!here) return null;
  const all = [...nodes.values()];
  if (key === "Home" || key === "End") {
    const order = readingOrder(all);
    const target = key === "Home" ? order[0] : order[order.length - 1];
    return target && target.id !== id ? target.id : null;
  }
  const best = (cands: NodePos[], dist: (n: NodePos) => number): string | null => {
    let out: NodePos | null = null;
    for (const c of cands) if (c.id !== id && (out === null || dist(c) < dist(out))) out = c;
    return out ? out.id : null;
  };
  if (key === "ArrowRight" || key === "ArrowLeft") {
    const dir = key === "ArrowRight" ? 1 : -1;
    const sameRow = all.filter((n) => n.row === here.row && (n.col - here.col) * dir > 0);
    const hit = best(sameRow, (n) => Math.abs(n.col - here.col));
    if (hit !== null || dir > 0) return hit;
    const parent = parentOf(id);
    return parent !== null && nodes.has(parent) ? parent : null;
  }
  // up/down: the next row of nodes that way (every row holds a node), at the closest column
  const dir = key === "ArrowDown" ? 1 : -1;
  const ahead = all.filter((n) => (n.row - here.row) * dir > 0);
  if (!ahead.length) return null;
  const row = ahead.reduce((r, n) => (Math.abs(n.row - here.row) < Math.abs(r - here.row) ? n.row : r), ahead[0].row);
  const from = col ?? here.col;
  return best(ahead.filter((n) => n.row === row), (n) => Math.abs(n.col - from) * 2 + (n.col < from ? 1 : 0));
}

/**
 * A column heading in lines short enough to stay inside the map's header: an operation's family
 * ("quantize.") above its name ("static_int8"), each cut to `maxChars` with an ellipsis (the
 * full name is the heading's tooltip).
 */
export function headingLines(label: string, maxChars = 13): string[] {
  const cut = (s: string) => (s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s);
  const dot = label.indexOf(".");
  if (dot <= 0 || dot === label.length - 1) return [cut(label)];
  return [cut(label.slice(0, dot + 1)), cut(label.slice(dot + 1))];
}

/**
 * How steeply to turn the column headings, and how long their lines may be, for a given column
 * spacing on screen: steep enough that neighbouring headings (two lines each) do not run into
 * each other (their spacing across the text is spacing · sin(angle)), and short enough that
 * the turned text fits in the header's height. Angle in degrees.
 */
export function headingFit(
  spacingPx: number,
  headerPx: number,
  charW = 6.3,
  lineH = 12.5,
): { angle: number; maxChars: number } {
  const stack = 2 * lineH;
  const sin = Math.min(Math.sin((75 * Math.PI) / 180), Math.max(Math.sin((35 * Math.PI) / 180), stack / Math.max(1, spacingPx)));
  const angle = (Math.asin(sin) * 180) / Math.PI;
  const room = (headerPx - stack * Math.cos((angle * Math.PI) / 180)) / sin;
  return { angle, maxChars: Math.max(4, Math.min(16, Math.floor(room / charW))) };
}

/** A rectangle on screen. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function rectsOverlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** An edge label to place: its anchor (the edge's middle) and the room between the edge's ends. */
export interface LabelCandidate {
  key: string;
  text: string;
  /** the edge's middle on screen */
  x: number;
  y: number;
  /** the horizontal room between the two end nodes on screen: a label never reaches past them */
  room: number;
}

export interface PlacedLabel {
  key: string;
  text: string;
  /** the text's centre x and baseline y on screen */
  x: number;
  y: number;
  box: Rect;
}

/**
 * Edge labels that print over nothing: in the given (priority) order, each label is cut to the
 * room between its edge's ends and put just above the edge, else just below it, where it
 * covers no node and no label placed before it; a label with no such place is left out (the
 * edge's tooltip still names it). `charW` and `lineH`: the font's advance and line height.
 */
export function placeLabels(
  candidates: LabelCandidate[],
  obstacles: Rect[],
  charW = 6,
  lineH = 12,
  minChars = 6,
): PlacedLabel[] {
  const placed: PlacedLabel[] = [];
  const taken = [...obstacles];
  for (const c of candidates) {
    const chars = Math.min(c.text.length, Math.floor(c.room / charW));
    if (chars < Math.min(minChars, c.text.length)) continue;
    const text = chars < c.text.length ? `${c.text.slice(0, chars - 1)}…` : c.text;
    const width = text.length * charW;
    // the baseline 4 px above the edge (text above it), or lineH below it
    for (const baseline of [c.y - 4, c.y + lineH - 1]) {
      const box = { x: c.x - width / 2, y: baseline - lineH + 3, width, height: lineH };
      if (taken.some((t) => rectsOverlap(t, box))) continue;
      placed.push({ key: c.key, text, x: c.x, y: baseline, box });
      taken.push(box);
      break;
    }
  }
  return placed;
}
