/** The app's one colour vocabulary; every view takes its colours from here (or app.css's vars).
 *
 * - a metric's value: the sequential scale of lib/scales.ts (brighter = better), grey = no value;
 * - a change's sign: red = worse / a loss (--worse), blue = better / a gain (--better);
 * - an identity (a group level, an operation, a series): CATEGORY_COLORS, which holds neither
 *   the red nor the blue of a sign, so a category is never read as a gain or a loss;
 * - the selection and keyboard focus: the accent (--accent).
 */
export const WORSE = "#c0392b";
export const BETTER = "#2166ac";
export const NO_VALUE = "#c8c8c8";
export const ACCENT = "#2f6fde";

/** ColorBrewer's Dark2: eight categories, colour-blind distinguishable, no pure red or blue. */
export const CATEGORY_COLORS = [
  "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
] as const;

/** The colour of the i-th category (cycling past eight). */
export function categoryColor(i: number): string {
  return CATEGORY_COLORS[((i % CATEGORY_COLORS.length) + CATEGORY_COLORS.length) % CATEGORY_COLORS.length];
}

/** The colour of a signed change given which direction is better. */
export function signColor(delta: number, direction: "max" | "min" = "max"): string {
  if (!Number.isFinite(delta) || delta === 0) return NO_VALUE;
  return (delta > 0) === (direction === "max") ? BETTER : WORSE;
}
