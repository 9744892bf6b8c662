/** Pareto frontier of 2-D points for chosen directions (e.g. minimize size, maximize accuracy). */
import type { Direction } from "../../lib/metrics";

export interface Point {
  id: string;
  x: number;
  y: number;
}

/** True when a is at least as good as b on both axes and strictly better on one. */
export function dominates(a: Point, b: Point, dx: Direction, dy: Direction): boolean {
  const bx = dx === "max" ? a.x - b.x : b.x - a.x;
  const by = dy === "max" ? a.y - b.y : b.y - a.y;
  return bx >= 0 && by >= 0 && (bx > 0 || by > 0);
}

/**
 * The non-dominated points, sorted by x ascending (ready to draw as a step line).
 * Points with non-finite coordinates are ignored; duplicates of a frontier point are all kept.
 * O(n log n): sort by x from best to worst, sweep keeping the best y seen.
 */
export function paretoFrontier(points: Point[], dx: Direction, dy: Direction): Point[] {
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const better = (a: number, b: number, d: Direction) => (d === "max" ? a > b : a < b);
  // best x first; ties: best y first
  pts.sort((a, b) => {
    if (a.x !== b.x) return better(a.x, b.x, dx) ? -1 : 1;
    if (a.y !== b.y) return better(a.y, b.y, dy) ? -1 : 1;
    return 0;
  });
  const out: Point[] = [];
  let bestY: number | null = null;
  let lastKept: Point | null = null;
  for (const p of pts) {
    if (bestY === null || better(p.y, bestY, dy)) {
      out.push(p);
      bestY = p.y;
      lastKept = p;
    } else if (lastKept && p.x === lastKept.x && p.y === lastKept.y) {
      out.push(p); // exact duplicate of a frontier point: not dominated either
    }
  }
  return out.sort((a, b) => a.x - b.x || a.y - b.y);
}
