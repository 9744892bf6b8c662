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
 * sibling's row starts below its parent). Up/down: the nearest node above/below in the same
 * column, else the nearest row in any column (closest column first). Home/End: first/last node
 * in reading order. Null when there is nowhere to go.
 */
export function neighbour(
  nodes: Map<string, NodePos>,
  id: string,
  key: NavKey,
  parentOf: (id: string) => string | null,
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
  const dir = key === "ArrowDown" ? 1 : -1;
  const ahead = all.filter((n) => (n.row - here.row) * dir > 0);
  const sameCol = ahead.filter((n) => n.col === here.col);
  if (sameCol.length) return best(sameCol, (n) => Math.abs(n.row - here.row));
  return best(ahead, (n) => Math.abs(n.row - here.row) * 1000 + Math.abs(n.col - here.col));
}
