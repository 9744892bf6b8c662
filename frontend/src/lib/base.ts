/** The base model the app starts from: related to what the user looks at, never an outlier. */
import type { ApiModel } from "./types";
import { parentIds, suggestedBase } from "./metrics";

/** How many models descend from each model, through any parent (teachers included). */
export function descendantCounts(models: ApiModel[]): Map<string, number> {
  const children = new Map<string, string[]>();
  for (const m of models) for (const p of parentIds(m)) children.set(p, [...(children.get(p) ?? []), m.id]);
  const counts = new Map<string, number>();
  for (const m of models) {
    const seen = new Set<string>();
    let frontier = children.get(m.id) ?? [];
    while (frontier.length) {
      const next: string[] = [];
      for (const c of frontier) {
        if (seen.has(c) || c === m.id) continue;
        seen.add(c);
        next.push(...(children.get(c) ?? []));
      }
      frontier = next;
    }
    counts.set(m.id, seen.size);
  }
  return counts;
}

/** The root (a model without parents) with the most descendants: the family most of the map
 * belongs to, so a standalone model never becomes the base by coming first. Ties keep the
 * models' order; without roots (a malformed graph) the first model. */
export function mostCommonRoot(models: ApiModel[]): string | null {
  const counts = descendantCounts(models);
  let best: ApiModel | null = null;
  for (const m of models) {
    if (parentIds(m).length > 0) continue;
    if (best === null || counts.get(m.id)! > counts.get(best.id)!) best = m;
  }
  return best?.id ?? models[0]?.id ?? null;
}

/** The base to start from: with a selection, its nearest shared ancestor (as the base
 * suggestion offers it, so a restored selection compares within its family); else, or when
 * the selection shares no ancestor, the most common root. */
export function defaultBase(models: ApiModel[], selected: string[] = []): string | null {
  const byId = new Map(models.map((m) => [m.id, m]));
  return suggestedBase(selected, null, byId) ?? mostCommonRoot(models);
}
