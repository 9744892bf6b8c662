/** Reading a view's own choices back from a shared link (`app.params`, kept as `p.KEY=value`).
 *
 * A link may be hand-edited or come from an older build: every reader validates its value and
 * answers `null` (keep the view's default) rather than trusting it. Writers leave defaults out
 * so links stay short. */

/** One of `allowed`, or null. */
export function paramChoice<T extends string>(value: string | undefined, allowed: readonly T[]): T | null {
  return value !== undefined && (allowed as readonly string[]).includes(value) ? (value as T) : null;
}

/** A finite number (one of `allowed` when given), or null. */
export function paramNumber(value: string | undefined, allowed?: readonly number[]): number | null {
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  if (!Number.isFinite(n)) return null;
  return allowed && !allowed.includes(n) ? null : n;
}

/** A non-negative integer below `below` (when given), or null. */
export function paramIndex(value: string | undefined, below = Infinity): number | null {
  const n = paramNumber(value);
  return n !== null && Number.isInteger(n) && n >= 0 && n < below ? n : null;
}

/** A comma list: the known entries, in `allowed`'s order when given, without repeats;
 * null when nothing usable is left (an empty list is kept as a choice only when `emptyOk`). */
export function paramList(value: string | undefined, allowed?: readonly string[], emptyOk = false): string[] | null {
  if (value === undefined) return null;
  const parts = [...new Set(value.split(",").map((s) => s.trim()).filter((s) => s.length > 0))];
  const kept = allowed ? allowed.filter((a) => parts.includes(a)) : parts;
  if (kept.length === 0) return emptyOk && value.trim() === "-" ? [] : null;
  return kept;
}

/** Encode a list for `paramList`; "-" marks a deliberately empty list, "" (dropped) the default. */
export function listParam(values: readonly (string | number)[], defaults?: readonly (string | number)[]): string {
  if (defaults && values.length === defaults.length && values.every((v, i) => v === defaults[i])) return "";
  return values.length ? values.join(",") : "-";
}
