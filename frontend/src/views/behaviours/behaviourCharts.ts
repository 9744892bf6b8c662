/** Data shaping of the Behaviours view's small charts: transition matrix, agreement matrix,
 * reliability (calibration) curves. Pure functions, so the SVG components stay thin. */
import { interpolateBlues, interpolateViridis } from "d3-scale-chromatic";
import { categoryColor } from "../../lib/palette";
import type { Schemas } from "../../lib/schema";

export interface MatrixCell {
  row: number;
  col: number;
  value: number;
  /** 0..1 position on the colour scale */
  t: number;
  diagonal: boolean;
}

/**
 * Transition counts [C, C] (row = base class, column = model class) as cells. Off-diagonal
 * cells are coloured by count relative to the largest off-diagonal count (the diagonal, which
 * is most instances, would wash every change out); `max` is that largest count (≥ 1).
 */
export function transitionCells(matrix: number[][]): { cells: MatrixCell[]; max: number } {
  let max = 0;
  matrix.forEach((row, r) => row.forEach((v, c) => r !== c && (max = Math.max(max, v))));
  max = Math.max(max, 1);
  const cells = matrix.flatMap((row, r) =>
    row.map((value, col) => ({ row: r, col, value, diagonal: r === col, t: r === col ? 0 : Math.min(1, value / max) })),
  );
  return { cells, max };
}

/** Colour of a transition cell: white (0) to dark blue (the largest change). */
export function transitionColor(t: number): string {
  return interpolateBlues(0.05 + 0.9 * Math.max(0, Math.min(1, t)));
}

/** Agreement [M, M] as cells coloured over [lowest off-diagonal value, 1]; `low` returned. */
export function agreementCells(matrix: (number | null)[][]): { cells: MatrixCell[]; low: number } {
  let low = 1;
  matrix.forEach((row, r) => row.forEach((v, c) => r !== c && typeof v === "number" && (low = Math.min(low, v))));
  if (low >= 1) low = 0.99;
  const cells = matrix.flatMap((row, r) =>
    row.map((v, col) => {
      const value = typeof v === "number" ? v : NaN;
      const t = Number.isFinite(value) ? Math.max(0, Math.min(1, (value - low) / (1 - low))) : 0;
      return { row: r, col, value, t, diagonal: r === col };
    }),
  );
  return { cells, low };
}

/** Colour of an agreement cell (viridis: dark = least agreement, yellow = identical). */
export function agreementColor(t: number): string {
  return interpolateViridis(Math.max(0, Math.min(1, t)));
}

/** `n` evenly spaced CSS gradient stops of an interpolator over t ∈ [0, 1]. */
export function gradientStops(color: (t: number) => string, n = 11): string {
  return Array.from({ length: n }, (_, i) => `${color(i / (n - 1))} ${(100 * i) / (n - 1)}%`).join(", ");
}

/** Text colour readable on a cell of colour position t (dark cells get white text). */
export function textOn(t: number, darkFrom = 0.55): string {
  return t >= darkFrom ? "#fff" : "#222";
}

/** A reliability curve as the API answers it (per confidence bin: count, accuracy, confidence). */
export type Reliability = Schemas["Reliability"];

export interface CurvePoint {
  confidence: number;
  accuracy: number;
  count: number;
}

/** The non-empty bins of a reliability diagram, as (mean confidence, accuracy) points. */
export function reliabilityPoints(rel: Reliability | null | undefined): CurvePoint[] {
  if (!rel) return [];
  const out: CurvePoint[] = [];
  rel.count.forEach((count, i) => {
    const a = rel.accuracy[i];
    const c = rel.mean_confidence[i];
    if (count > 0 && typeof a === "number" && typeof c === "number") out.push({ confidence: c, accuracy: a, count });
  });
  return out;
}

/** An SVG path through the points on a [0,1]² chart of size w × h (y up). */
export function curvePath(points: CurvePoint[], w: number, h: number): string {
  return points
    .map((p, i) => `${i === 0 ? "M" : "L"}${(p.confidence * w).toFixed(1)},${((1 - p.accuracy) * h).toFixed(1)}`)
    .join(" ");
}

/** Series colours: the base is dark grey, models take the identity palette (lib/palette) in order. */
export function seriesColor(index: number | "base"): string {
  return index === "base" ? "#333" : categoryColor(index);
}

/** "0.9" → "90%" style percentage with the given digits; "–" for missing. */
export function percent(v: number | null | undefined, digits = 1): string {
  return typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : "–";
}
