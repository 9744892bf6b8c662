/** Geometry view (Li et al.): shapes of /api/geometry*, and the pure data shaping its charts use. */
import { interpolateRdBu, interpolateSinebow, schemeTableau10 } from "d3-scale-chromatic";
import type { Refine, Schemas } from "../../lib/schema";
import type { ApiModel, DatasetInfo } from "../../lib/types";

/** Most models whose per-class angles are fetched for the parallel coordinates. */
export const MAX_PARALLEL_MODELS = 12;
/** Most models placed on the "all models" map (one URL lists their ids). */
export const MAX_MAP_MODELS = 100;
/** Histogram bins and fragile/robust samples asked of /api/geometry. */
export const MARGIN_BINS = 40;
export const SAMPLE_LIMIT = 12;

export type GeometryPart = "angle" | "length" | "margin";
export const GEOMETRY_PARTS: GeometryPart[] = ["angle", "length", "margin"];
export const PART_LABELS: Record<GeometryPart, string> = {
  angle: "angle θ_y (rad)",
  length: "feature length ‖f‖",
  margin: "margin m",
};

export type FragilityGroup = "robust_to_fragile" | "fragile_to_robust" | "stayed_robust" | "stayed_fragile";
export const FRAGILITY_GROUPS: { key: FragilityGroup; label: string; hint: string }[] = [
  { key: "robust_to_fragile", label: "robust → fragile", hint: "margin was > 0 for the base, ≤ 0 now" },
  { key: "fragile_to_robust", label: "fragile → robust", hint: "margin was ≤ 0 for the base, > 0 now" },
  { key: "stayed_robust", label: "stayed robust", hint: "margin > 0 for both" },
  { key: "stayed_fragile", label: "stayed fragile", hint: "margin ≤ 0 for both" },
];

type Num = number | null;

export interface PartSummary {
  mean: Num[];
  sd: Num[];
  q05: Num[];
  q25: Num[];
  q50: Num[];
  q75: Num[];
  q95: Num[];
}

export interface PerClass {
  count: number[];
  angle: PartSummary;
  length: PartSummary;
  margin: PartSummary;
}

export interface FragileSample {
  index: number;
  label: number;
  base_margin: Num;
  margin: Num;
}

export interface HistogramSeries {
  counts: number[];
  clipped: number;
  total: number;
  negative_share: Num;
  median: Num;
}

export interface MarginHistogram {
  edges: number[];
  series: { model: HistogramSeries; base?: HistogramSeries };
}

/** GET /api/geometry, refined: the server types `per_class` as `dict[str, Any]` and leaves the
 * parts that `base`, `bins` and `limit` add to `extra` (GeometryAnswer has extra="allow"). */
export type GeometryAnswer = Refine<
  Schemas["GeometryAnswer"],
  {
    per_class: PerClass;
    base?: { name: string; per_class: PerClass };
    fragility?: Partial<Record<FragilityGroup, number[]>>;
    fragility_counts?: Partial<Record<FragilityGroup, number>>;
    fragility_samples?: Partial<Record<"robust_to_fragile" | "fragile_to_robust", FragileSample[]>>;
    margin_histogram?: MarginHistogram;
  }
>;

/** GET /api/geometry/map. */
export type MapAnswer = Schemas["GeometryMap"];

/** GET /api/geometry/occlusion. */
export type OcclusionAnswer = Schemas["OcclusionAnswer"];

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** The base first, then the selected models, without repeats: the models a map places. */
export function mapModelIds(base: string | null, selected: string[]): string[] {
  return [...new Set([...(base ? [base] : []), ...selected])];
}

/** The model the per-model charts show by default: the first selected one that is not the base. */
export function defaultFocus(selected: string[], base: string | null): string | null {
  return selected.find((id) => id !== base) ?? base ?? null;
}

export interface ClassRow {
  index: number;
  name: string;
  count: number;
  angle: Num;
  length: Num;
  margin: Num;
  baseAngle: Num;
  baseLength: Num;
  baseMargin: Num;
}

/** One row per class: the model's mean θ_y, ‖f‖, m and, when the answer has a base, the base's. */
export function classRows(answer: GeometryAnswer): ClassRow[] {
  const pc = answer.per_class;
  const bc = answer.base?.per_class;
  return pc.count.map((count, i) => ({
    index: i,
    name: answer.class_names[i] ?? String(i),
    count,
    angle: pc.angle.mean[i] ?? null,
    length: pc.length.mean[i] ?? null,
    margin: pc.margin.mean[i] ?? null,
    baseAngle: bc?.angle.mean[i] ?? null,
    baseLength: bc?.length.mean[i] ?? null,
    baseMargin: bc?.margin.mean[i] ?? null,
  }));
}

/** model − base, or null when either is missing. */
export function delta(model: Num, base: Num): Num {
  return finite(model) && finite(base) ? model - base : null;
}

/** [lo, hi] of the finite values, widened by `pad` of the span on each side (never empty). */
export function paddedExtent(values: Num[], pad = 0.06): [number, number] {
  const xs = values.filter(finite);
  if (!xs.length) return [0, 1];
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  if (lo === hi) {
    const d = Math.abs(lo) * 0.05 || 1;
    lo -= d;
    hi += d;
  }
  const span = hi - lo;
  return [lo - span * pad, hi + span * pad];
}

/**
 * Pixel positions of 2-D coordinates in a width×height box with `pad` pixels around, one unit
 * the same length on both axes (distances on a map mean something) and the cloud centred.
 */
export function fitPoints(coords: (number | null)[][], width: number, height: number, pad = 24): [number, number][] {
  if (!coords.length) return [];
  // a missing coordinate (the schema allows null; the map's MDS gives none) counts as 0
  const xs = coords.map((c) => c[0] ?? 0);
  const ys = coords.map((c) => c[1] ?? 0);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const spanX = x1 - x0;
  const spanY = y1 - y0;
  const innerW = width - 2 * pad;
  const innerH = height - 2 * pad;
  const scale = Math.min(spanX > 0 ? innerW / spanX : Infinity, spanY > 0 ? innerH / spanY : Infinity);
  const k = Number.isFinite(scale) ? scale : 1;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  // screen y grows downwards: flip so that "up" on the map is a larger second coordinate
  return xs.map((x, i) => [width / 2 + (x - cx) * k, height / 2 - (ys[i] - cy) * k]);
}

/** The map's tree edges as pairs of point indices (edges name models; unknown names are skipped). */
export function edgeIndices(answer: MapAnswer): { i: number; j: number; distance: Num }[] {
  const at = new Map(answer.models.map((m, i) => [m.name, i]));
  const out: { i: number; j: number; distance: Num }[] = [];
  for (const e of answer.edges) {
    const i = at.get(e.source);
    const j = at.get(e.target);
    if (i !== undefined && j !== undefined) out.push({ i, j, distance: e.distance });
  }
  return out;
}

/** Distinct colours for classes: Tableau 10 up to ten, an even walk around the sinebow beyond. */
export function classColor(i: number, n: number): string {
  return n <= schemeTableau10.length ? schemeTableau10[i % schemeTableau10.length] : interpolateSinebow(i / n);
}

/** Outline of a histogram as [x, y] corners: up and across each bin, from and back to y = 0. */
export function stepPoints(edges: number[], counts: number[]): [number, number][] {
  if (!counts.length || edges.length !== counts.length + 1) return [];
  const pts: [number, number][] = [[edges[0], 0]];
  counts.forEach((c, i) => {
    pts.push([edges[i], c], [edges[i + 1], c]);
  });
  pts.push([edges[edges.length - 1], 0]);
  return pts;
}

/** An SVG path through points, already in pixels. */
export function pathOf(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(2)},${y.toFixed(2)}`).join("");
}

export interface ParallelLine {
  id: string;
  name: string;
  values: Num[];
  isBase: boolean;
}

/** [lo, hi] shared by every axis of the parallel coordinates (angles are comparable across classes). */
export function parallelDomain(lines: ParallelLine[]): [number, number] {
  return paddedExtent(lines.flatMap((l) => l.values), 0.04);
}

/**
 * Polyline segments of one line: a missing value (an empty class) breaks the line rather than
 * drawing through it.
 */
export function lineSegments(values: Num[], x: (i: number) => number, y: (v: number) => number): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  values.forEach((v, i) => {
    if (finite(v)) cur.push([x(i), y(v)]);
    else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  });
  if (cur.length) out.push(cur);
  return out;
}

export interface HeatCell {
  row: number;
  col: number;
  x: number;
  y: number;
  size: number;
  value: number;
}

/**
 * Heat-map cells in image pixels: cell (r, c) is the patch whose top-left is (c·stride, r·stride);
 * it is drawn as the stride×stride square centred in that patch, so cells tile without overlap.
 */
export function occlusionCells(map: Num[][], patch: number, stride: number): HeatCell[] {
  const size = Math.min(patch, stride);
  const offset = (patch - size) / 2;
  const out: HeatCell[] = [];
  map.forEach((row, r) =>
    row.forEach((value, c) => {
      if (finite(value)) out.push({ row: r, col: c, x: c * stride + offset, y: r * stride + offset, size, value });
    }),
  );
  return out;
}

/** Largest |value| (1 when all are zero or missing): a symmetric domain for a diverging scale. */
export function symmetricBound(maps: Num[][][]): number {
  let m = 0;
  for (const map of maps) for (const row of map) for (const v of row) if (finite(v)) m = Math.max(m, Math.abs(v));
  return m > 0 ? m : 1;
}

/** Red where occluding the patch lowered the quantity (the patch supported it), blue where it rose. */
export function divergingColor(value: number, bound: number): string {
  const t = 0.5 + Math.max(-1, Math.min(1, value / bound)) / 2;
  return interpolateRdBu(t);
}

/** A short number: 3 significant digits, "–" when missing. */
export function fmt(v: Num | undefined, digits = 3): string {
  if (!finite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
  if (a >= 10 ** digits) return String(Math.round(v));
  const s = v.toPrecision(digits);
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** A signed change: "+0.012", "−0.4", "±0". */
export function fmtDelta(v: Num | undefined, digits = 2): string {
  if (!finite(v)) return "–";
  if (v === 0) return "±0";
  return `${v > 0 ? "+" : "−"}${fmt(Math.abs(v), digits)}`;
}

/** Percent with one decimal. */
export function fmtShare(v: Num | undefined): string {
  return finite(v) ? `${(v * 100).toFixed(1)}%` : "–";
}

/**
 * Label heights that do not collide: points sorted top-down, each label pushed below any label
 * already placed within `width` pixels horizontally and `gap` pixels vertically.
 */
export function spreadLabels(points: { x: number; y: number }[], gap = 11, width = 70): number[] {
  const order = points.map((_, i) => i).sort((a, b) => points[a].y - points[b].y || a - b);
  const placed: { x: number; y: number }[] = [];
  const out = new Array<number>(points.length);
  for (const i of order) {
    let y = points[i].y;
    for (let moved = true, guard = 0; moved && guard < points.length; guard++) {
      moved = false;
      for (const q of placed) {
        if (Math.abs(q.x - points[i].x) < width && Math.abs(q.y - y) < gap) {
          y = q.y + gap;
          moved = true;
        }
      }
    }
    placed.push({ x: points[i].x, y });
    out[i] = y;
  }
  return out;
}

/** The box [x0, y0, x1, y1] holding the central (1 − 2·q) share of points on each axis. */
export function quantileBox(points: [number, number][], q = 0.1): [number, number, number, number] {
  const at = (values: number[], p: number): number => {
    const s = [...values].sort((a, b) => a - b);
    const pos = p * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo] + (pos - lo) * (s[hi] - s[lo]);
  };
  if (!points.length) return [0, 0, 0, 0];
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [at(xs, q), at(ys, q), at(xs, 1 - q), at(ys, 1 - q)];
}

/** A zoom {k, x, y} (screen = k·p + (x, y)) that fits a box into width×height with `pad` around. */
export function fitTransform(
  box: [number, number, number, number],
  width: number,
  height: number,
  pad = 30,
  maxK = 60,
): { k: number; x: number; y: number } {
  const [x0, y0, x1, y1] = box;
  const kx = x1 > x0 ? (width - 2 * pad) / (x1 - x0) : Infinity;
  const ky = y1 > y0 ? (height - 2 * pad) / (y1 - y0) : Infinity;
  const k = Math.max(1, Math.min(maxK, kx, ky));
  return { k, x: width / 2 - k * ((x0 + x1) / 2), y: height / 2 - k * ((y0 + y1) / 2) };
}
