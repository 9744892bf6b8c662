/**
 * Histograms of one metric over all models and the brush arithmetic of the metric filter
 * (pixel <-> value, ordering and clamping a dragged range, counting what passes). Pure.
 */
import { extent } from "../../lib/scales";

export interface Histogram {
  lo: number;
  hi: number;
  /** counts[i] = values in [lo + i*step, lo + (i+1)*step), the last bin closed */
  counts: number[];
  step: number;
  /** values that were not finite numbers */
  missing: number;
}

/** Equal-width bins over the finite values (a constant metric gets a padded range). */
export function histogram(values: (number | null)[], bins = 20): Histogram | null {
  const ext = extent(values);
  if (!ext || bins < 1) return null;
  const [lo, hi] = ext;
  const step = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let missing = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) {
      missing += 1;
      continue;
    }
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / step)));
    counts[i] += 1;
  }
  return { lo, hi, counts, step, missing };
}

/** Value under a pixel of a histogram drawn from x0 to x0 + width (clamped to the range). */
export function valueAt(px: number, x0: number, width: number, lo: number, hi: number): number {
  const t = width > 0 ? (px - x0) / width : 0;
  return lo + Math.min(1, Math.max(0, t)) * (hi - lo);
}

/** Pixel of a value on the same axis. */
export function pixelOf(v: number, x0: number, width: number, lo: number, hi: number): number {
  return hi > lo ? x0 + ((v - lo) / (hi - lo)) * width : x0;
}

/** A brushed or typed range in order; null when it is not two finite numbers. */
export function orderedRange(a: number, b: number): [number, number] | null {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a <= b ? [a, b] : [b, a];
}

/** How many values lie in [lo, hi] (bounds included, as the store's filter does). */
export function countInRange(values: (number | null)[], range: [number, number]): number {
  let n = 0;
  for (const v of values) if (v !== null && Number.isFinite(v) && v >= range[0] && v <= range[1]) n += 1;
  return n;
}

/** Whether bin i overlaps the range (to highlight the brushed bins). */
export function binInRange(h: Histogram, i: number, range: [number, number]): boolean {
  const a = h.lo + i * h.step;
  const b = a + h.step;
  return b >= range[0] && a <= range[1];
}

/**
 * Round a brushed value to a precision fitting the axis (about 1/500 of its span), so that
 * shared URLs and the number inputs show 0.8125 rather than 0.81249999731.
 */
export function snap(v: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(v)) return v;
  const decimals = Math.max(0, -Math.floor(Math.log10(span / 500)));
  const unit = 10 ** Math.floor(Math.log10(span / 500));
  const r = decimals > 0 ? Number(v.toFixed(Math.min(decimals, 15))) : Math.round(v / unit) * unit;
  return r;
}

/** The value a brush edge at pixel px means: snapped inside the plot, the exact bound at or past an end. */
export function brushValue(px: number, x0: number, width: number, lo: number, hi: number): number {
  if (px <= x0) return lo;
  if (px >= x0 + width) return hi;
  return Math.min(hi, Math.max(lo, snap(valueAt(px, x0, width, lo, hi), lo, hi)));
}

/**
 * A log axis suits a positive metric spanning orders of magnitude (sizes, MACs, loss):
 * on a linear one, one large model squeezes every other into the first bin.
 */
export function suggestsLog(values: (number | null)[], ratio = 10): boolean {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length < 2 || finite.some((v) => v <= 0)) return false;
  return Math.max(...finite) / Math.min(...finite) >= ratio;
}

/** Whether every finite value can go on a log axis. */
export function canLog(values: (number | null)[]): boolean {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return finite.length > 0 && finite.every((v) => v > 0);
}

/**
 * The raw value under pixel px of a log10 axis (the histogram built on log10 values):
 * the exact extremes at or past the ends, else 4 significant digits.
 */
export function logBrushValue(px: number, x0: number, width: number, min: number, max: number): number {
  if (px <= x0) return min;
  if (px >= x0 + width) return max;
  const t = valueAt(px, x0, width, Math.log10(min), Math.log10(max));
  return Math.min(max, Math.max(min, Number((10 ** t).toPrecision(4))));
}
