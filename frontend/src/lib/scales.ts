/** Colour and size scales shared by the map and the scatter (pure, testable). */
import { scaleSequential, scaleSqrt } from "d3-scale";
import { interpolateViridis } from "d3-scale-chromatic";
import type { Direction } from "./metrics";

export const MISSING_COLOR = "#c8c8c8";

export function extent(values: (number | null)[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return null;
  if (lo === hi) return [lo - (Math.abs(lo) * 0.05 || 1), hi + (Math.abs(hi) * 0.05 || 1)];
  return [lo, hi];
}

/**
 * Viridis, oriented so that the better end is always bright yellow and the worse end dark
 * purple (readable on white, colour-blind safe). Missing values are grey.
 */
export function makeColor(values: (number | null)[], direction: Direction): (v: number | null) => string {
  const ext = extent(values);
  if (!ext) return () => MISSING_COLOR;
  const s = scaleSequential(interpolateViridis).domain(direction === "max" ? ext : [ext[1], ext[0]]);
  return (v) => (v === null || !Number.isFinite(v) ? MISSING_COLOR : s(v));
}

/** Node radius by area: rMin..rMax over the metric's range; missing -> rMin. */
export function makeRadius(values: (number | null)[], rMin = 4, rMax = 13): (v: number | null) => number {
  const ext = extent(values);
  if (!ext) return () => (rMin + rMax) / 2;
  const lo = Math.min(ext[0], 0); // area from zero: a value twice as large looks twice as big
  const s = scaleSqrt().domain([lo, ext[1]]).range([rMin, rMax]).clamp(true);
  return (v) => (v === null || !Number.isFinite(v) ? rMin : s(v));
}
