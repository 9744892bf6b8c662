/** Short model labels for models shown together (a selection, the columns of a table).
 *
 * Workspace names such as "magnitude[amount=0.8]-s0#f4f57f" are long and share their start, so
 * columns clipped to a width all read "magnitude[amoun…". A label here names only what tells a
 * model apart WITHIN the set: the operation when operations differ, the operation parameters
 * that differ ("amount 0.8"), the seed ("s1") when seeds differ; the full name stays for hover. */
import type { ApiModel } from "./types";

/** A model as far as labelling needs it. */
type Labelled = Pick<ApiModel, "id" | "name" | "operation">;

/** Parameters listed at most per label (the rest are left to the full name on hover). */
const MAX_PARAMS = 3;

/** The operation's short name: "prune.magnitude" → "magnitude"; null for a root model. */
function opName(m: Labelled): string | null {
  const name = m.operation?.name;
  if (!name) return null;
  return name.includes(".") ? name.slice(name.indexOf(".") + 1) : name;
}

function seedOf(m: Labelled): number | null {
  const seed = m.operation?.seed;
  return typeof seed === "number" ? seed : null;
}

/** A parameter value in a label: numbers and strings as they are, lists joined, objects as JSON. */
function showValue(v: unknown): string {
  if (v === null || v === undefined) return "none";
  if (Array.isArray(v)) return v.map(showValue).join(",");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function paramsOf(m: Labelled): Record<string, unknown> {
  const p = m.operation?.params;
  return p && typeof p === "object" ? (p as Record<string, unknown>) : {};
}

/** The parameter names whose values differ between the models (a missing one differs too). */
function differingParams(models: Labelled[]): string[] {
  const names = [...new Set(models.flatMap((m) => Object.keys(paramsOf(m))))].sort();
  return names.filter((k) => new Set(models.map((m) => JSON.stringify(paramsOf(m)[k] ?? null))).size > 1);
}

/** A short, unique label per model id, naming what distinguishes it within `models`.
 *
 * Deterministic: it depends on the set, not on its order. A model alone, or one with nothing
 * that tells it apart (a root, the same operation, parameters and seed as another), keeps its name;
 * labels that would still collide get their id's first characters ("… #f4f57f"). */
export function modelLabels(models: Labelled[]): Map<string, string> {
  const unique = [...new Map(models.map((m) => [m.id, m])).values()];
  const out = new Map<string, string>();
  if (unique.length <= 1) {
    for (const m of unique) out.set(m.id, m.name);
    return out;
  }
  const opsDiffer = new Set(unique.map(opName)).size > 1;
  // a root has no seed of its own: only the seeds of derived models are compared
  const seedsDiffer = new Set(unique.map(seedOf).filter((s) => s !== null)).size > 1;
  // parameters are compared among the models of one operation (their names mean the same there)
  const byOp = new Map<string | null, Labelled[]>();
  for (const m of unique) byOp.set(opName(m), [...(byOp.get(opName(m)) ?? []), m]);
  const differing = new Map([...byOp].map(([op, ms]) => [op, differingParams(ms)]));

  for (const m of unique) {
    const op = opName(m);
    if (op === null) {
      // a root has no operation to describe: its own name says what it is
      out.set(m.id, m.name);
      continue;
    }
    const params = paramsOf(m);
    const parts: string[] = [];
    if (opsDiffer) parts.push(op);
    const shown = (differing.get(op) ?? []).filter((k) => params[k] !== undefined).slice(0, MAX_PARAMS);
    parts.push(...shown.map((k) => `${k} ${showValue(params[k])}`));
    const seed = seedOf(m);
    if (seedsDiffer && seed !== null) parts.push(`s${seed}`);
    out.set(m.id, parts.length ? parts.join(" · ") : m.name);
  }

  // what still collides (the same recipe on different parents, say) gets its id prefix
  const counts = new Map<string, number>();
  for (const label of out.values()) counts.set(label, (counts.get(label) ?? 0) + 1);
  for (const [id, label] of out) if ((counts.get(label) ?? 0) > 1) out.set(id, `${label} #${id.slice(0, 6)}`);
  return out;
}

/** The label of `id` among `labels`, or the fallback (a name) when the model is not in the set. */
export function labelOf(labels: Map<string, string>, id: string, fallback: string): string {
  return labels.get(id) ?? fallback;
}
