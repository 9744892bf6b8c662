/** Colour and size scales shared by the map, the scatter and their legend (pure, testable). */
import { scaleSqrt } from "d3-scale";
import { interpolateViridis } from "d3-scale-chromatic";
import type { Direction } from "./metrics";
import { NO_VALUE } from "./palette";

export const MISSING_COLOR = NO_VALUE;

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

/** Where a value sits on the colour scale: 0 the worst end … 1 the better end; null: no value. */
export type Position = (v: number | null) => number | null;

/**
 * How values are spread over the colours. "rank" (the default): by the share of the distinct
 * values below it, so the colours resolve where the models are (a cluster between 0.85 and
 * 0.90 spans most of the scale, one outlier at 0.12 takes no more room than its rank);
 * "linear": by distance along the range, the outliers' way.
 */
export type ColorScaleKind = "rank" | "linear";

function finiteSorted(values: (number | null)[]): number[] {
  const out = [...new Set(values.filter((v): v is number => v !== null && Number.isFinite(v)))];
  return out.sort((a, b) => a - b);
}

/** Rank position: i/(n−1) for the i-th smallest distinct value, interpolated in between. */
export function rankPosition(values: (number | null)[], direction: Direction): Position {
  const u = finiteSorted(values);
  const orient = (t: number) => (direction === "max" ? t : 1 - t);
  return (v) => {
    if (v === null || !Number.isFinite(v) || u.length === 0) return null;
    if (u.length === 1) return 0.5;
    if (v <= u[0]) return orient(0);
    if (v >= u[u.length - 1]) return orient(1);
    let lo = 0;
    let hi = u.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (u[mid] <= v) lo = mid;
      else hi = mid;
    }
    return orient((lo + (v - u[lo]) / (u[hi] - u[lo])) / (u.length - 1));
  };
}

/** Linear position over the values' extent. */
export function linearPosition(values: (number | null)[], direction: Direction): Position {
  const ext = extent(values);
  return (v) => {
    if (v === null || !Number.isFinite(v) || !ext) return null;
    const t = Math.max(0, Math.min(1, (v - ext[0]) / (ext[1] - ext[0])));
    return direction === "max" ? t : 1 - t;
  };
}

/**
 * The sequential colour of a position: viridis, the better end bright yellow and the worse end
 * dark purple (readable on white, colour-blind safe); no value is grey.
 */
export function colorAt(t: number | null): string {
  return t === null || !Number.isFinite(t) ? MISSING_COLOR : interpolateViridis(Math.max(0, Math.min(1, t)));
}

/** The colour of a value, the better end yellow whatever the direction; missing values grey. */
export function makeColor(
  values: (number | null)[],
  direction: Direction,
  kind: ColorScaleKind = "rank",
): (v: number | null) => string {
  const position = kind === "rank" ? rankPosition(values, direction) : linearPosition(values, direction);
  return (v) => colorAt(position(v));
}

/** A position rounded to one of `steps` + 1 levels: edges of close colours share one drawn path. */
export function quantize(t: number | null, steps = 16): number | null {
  return t === null ? null : Math.round(t * steps) / steps;
}

/** Node radius by area: rMin..rMax over the metric's range; missing -> rMin. */
export function makeRadius(values: (number | null)[], rMin = 4, rMax = 13): (v: number | null) => number {
  const ext = extent(values);
  if (!ext) return () => (rMin + rMax) / 2;
  const lo = Math.min(ext[0], 0); // area from zero: a value twice as large looks twice as big
  const s = scaleSqrt().domain([lo, ext[1]]).range([rMin, rMax]).clamp(true);
  return (v) => (v === null || !Number.isFinite(v) ? rMin : s(v));
}
