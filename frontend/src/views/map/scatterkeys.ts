/** Keyboard access to the trade-off scatter: a focusable chart whose arrow keys step through the
 * points in x order (ties by y, then id), Enter or Space selecting the focused one.
 *
 * Points are too small and dense to each be a tab stop (1,000 models would be 1,000 stops), so
 * the chart is one stop with an active point (aria-activedescendant); these pure functions say
 * which point is next and what a key does. */

export interface KeyPoint {
  id: string;
  x: number;
  y: number;
}

/** How far PageUp / PageDown jump. */
export const PAGE_STEP = 10;

/** Point ids in the order the arrow keys visit them: by x, then y, then id. */
export function keyboardOrder(points: KeyPoint[]): string[] {
  return [...points]
    .sort((a, b) => a.x - b.x || a.y - b.y || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((p) => p.id);
}

export type ScatterKeyAction =
  | { kind: "focus"; id: string }
  | { kind: "select"; id: string; mode: "replace" | "toggle" }
  | null;

/** What `key` does with `current` focused (null: none yet). Arrows Right/Down step forward in
 * x order and Left/Up back, PageDown/PageUp by PAGE_STEP, Home/End to the ends (clamped, no
 * wrap-around); Enter or Space select the focused point, with shift toggling it in the selection.
 * Null when the key is not the chart's (let it through). */
export function scatterKey(order: string[], current: string | null, key: string, shift = false): ScatterKeyAction {
  if (!order.length) return null;
  const at = current === null ? -1 : order.indexOf(current);
  if (key === "Enter" || key === " ") {
    return at < 0 ? { kind: "focus", id: order[0] } : { kind: "select", id: order[at], mode: shift ? "toggle" : "replace" };
  }
  const last = order.length - 1;
  const clamp = (i: number) => Math.max(0, Math.min(last, i));
  let next: number;
  switch (key) {
    case "ArrowRight":
    case "ArrowDown":
      next = at < 0 ? 0 : clamp(at + 1);
      break;
    case "ArrowLeft":
    case "ArrowUp":
      next = at < 0 ? last : clamp(at - 1);
      break;
    case "PageDown":
      next = at < 0 ? 0 : clamp(at + PAGE_STEP);
      break;
    case "PageUp":
      next = at < 0 ? last : clamp(at - PAGE_STEP);
      break;
    case "Home":
      next = 0;
      break;
    case "End":
      next = last;
      break;
    default:
      return null;
  }
  return { kind: "focus", id: order[next] };
}

/** The point to focus when the chart gains focus: the kept one if still shown, else the first
 * selected point in x order, else the first point. */
export function entryPoint(order: string[], kept: string | null, selected: ReadonlySet<string>): string | null {
  if (kept !== null && order.includes(kept)) return kept;
  return order.find((id) => selected.has(id)) ?? order[0] ?? null;
}
