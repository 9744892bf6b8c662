/**
 * What differs between selected models, read from their provenance.
 *
 * Each model's lineage (root → model, following the primary parent; a distillation teacher
 * is a parameter, not the lineage) is cut at the deepest model that every lineage shares;
 * the remaining steps are aligned into slots by operation family ("prune", "quantize",
 * "train", … — the k-th step of one family is "family #k"; the root, when nothing is shared,
 * is the "origin" slot). Per slot come the variables: is the step present, which operation
 * is it, and each parameter's value (seed and teacher included). Variables that split the
 * models the same way are merged (e.g. the origin's seed and the pruning seed), variables
 * with one value are "shared". groupStats then averages a metric per variable level, for
 * the grouped bar charts of the Selection details view. Pure: no Svelte, no fetch.
 */
import type { ApiModel } from "../../lib/types";
import { metricValue, primaryParent } from "../../lib/metrics";

/** Label of a slot that a model's lineage does not have. */
export const NONE = "(none)";
/** Label of a parameter that the slot's operation does not set. */
export const UNSET = "(unset)";
/** Operation name of a root model that came without one (an imported checkpoint). */
export const IMPORTED = "(imported)";

export interface Step {
  slot: string;
  op: string;
  params: Record<string, unknown>;
  seed: number | null;
  teacher: string | null;
  modelId: string;
  modelName: string;
}

export type VariableKind = "pipeline" | "presence" | "type" | "param" | "origin";

export interface Level {
  label: string;
  ids: string[];
}

export interface Variable {
  key: string;
  label: string;
  kind: VariableKind;
  slot: string;
  /** levels in display order (none/no first, numbers ascending) */
  levels: Level[];
  /** model id -> level label */
  valueOf: Record<string, string>;
  /** labels of variables merged into this one because they split the models identically */
  aliases: string[];
}

export interface SharedFact {
  label: string;
  value: string;
}

export interface Differences {
  /** the deepest model every selected lineage goes through, or null */
  ancestor: ApiModel | null;
  /** per model id: its steps after the shared ancestor */
  chains: Record<string, Step[]>;
  /** slots in the order they first appear */
  slots: string[];
  variables: Variable[];
  shared: SharedFact[];
  /** per slot: the parameters whose values differ among the models that have the slot */
  varying: Record<string, string[]>;
}

/** Root → model along the primary (non-teacher) parent; stops at missing parents and cycles. */
export function lineage(model: ApiModel, byId: Map<string, ApiModel>): ApiModel[] {
  const out: ApiModel[] = [model];
  const seen = new Set([model.id]);
  let cur = model;
  for (;;) {
    const pid = primaryParent(cur);
    const parent = pid ? byId.get(pid) : undefined;
    if (!parent || seen.has(parent.id)) break;
    out.push(parent);
    seen.add(parent.id);
    cur = parent;
  }
  return out.reverse();
}

/** Length of the common prefix (by id) of every lineage. */
export function sharedPrefixLength(lineages: ApiModel[][]): number {
  if (!lineages.length) return 0;
  let n = 0;
  for (;;) {
    const head = lineages[0][n];
    if (!head || !lineages.every((l) => l[n]?.id === head.id)) return n;
    n += 1;
  }
}

/** Operation family: "prune.magnitude" -> "prune". */
export function familyOf(op: string): string {
  const i = op.indexOf(".");
  return i < 0 ? op : op.slice(0, i);
}

/** A readable, stable label for a parameter value. */
export function valueLabel(v: unknown): string {
  if (v === undefined) return UNSET;
  if (v === null) return "null";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function teacherOf(model: ApiModel, byId: Map<string, ApiModel>): string | null {
  const t = (model.operation?.parents ?? []).find((p) => p.role === "teacher");
  if (!t) return null;
  return byId.get(t.id)?.name ?? t.id;
}

/** The steps of one lineage after the shared prefix, each given its slot. */
export function stepsAfter(line: ApiModel[], shared: number, byId: Map<string, ApiModel>): Step[] {
  const counts = new Map<string, number>();
  return line.slice(shared).map((m, i) => {
    const op = m.operation?.name ?? IMPORTED;
    let slot: string;
    if (shared === 0 && i === 0) slot = "origin";
    else {
      const fam = familyOf(op);
      const k = (counts.get(fam) ?? 0) + 1;
      counts.set(fam, k);
      slot = k === 1 ? fam : `${fam} #${k}`;
    }
    return {
      slot,
      op,
      params: { ...(m.operation?.params ?? {}) },
      seed: m.operation?.seed ?? null,
      teacher: teacherOf(m, byId),
      modelId: m.id,
      modelName: m.name,
    };
  });
}

function compareLabels(a: string, b: string): number {
  const rank = (s: string) => (s === NONE || s === "no" ? 0 : s === UNSET ? 1 : 2);
  const r = rank(a) - rank(b);
  if (r) return r;
  const na = Number(a);
  const nb = Number(b);
  const numeric = a.trim() !== "" && b.trim() !== "" && Number.isFinite(na) && Number.isFinite(nb);
  if (numeric && na !== nb) return na - nb;
  return a.localeCompare(b, undefined, { numeric: true });
}

/** Group ids by their label; levels sorted (none/no first, numbers ascending). */
export function levelsOf(valueOf: Record<string, string>, ids: string[]): Level[] {
  const by = new Map<string, string[]>();
  for (const id of ids) {
    const label = valueOf[id];
    by.set(label, [...(by.get(label) ?? []), id]);
  }
  return [...by.entries()].sort(([a], [b]) => compareLabels(a, b)).map(([label, lids]) => ({ label, ids: lids }));
}

/** A canonical form of the partition, so identical splits under different labels compare equal. */
function partitionKey(v: Variable): string {
  return v.levels
    .map((l) => [...l.ids].sort().join(","))
    .sort()
    .join("|");
}

function paramNames(steps: Step[]): string[] {
  const names = new Set<string>();
  for (const s of steps) for (const k of Object.keys(s.params)) names.add(k);
  const list = [...names];
  if (steps.some((s) => s.seed !== null)) list.push("seed");
  if (steps.some((s) => s.teacher !== null)) list.push("teacher");
  return list;
}

function paramValue(step: Step, name: string): string {
  if (name === "seed" && !(name in step.params)) return step.seed === null ? UNSET : String(step.seed);
  if (name === "teacher" && !(name in step.params)) return step.teacher ?? UNSET;
  return valueLabel(step.params[name]);
}

/** Candidate variables of one slot: presence, operation type, then each parameter. */
function slotVariables(slot: string, ids: string[], chains: Record<string, Step[]>): Variable[] {
  const stepOf = new Map<string, Step>();
  for (const id of ids) {
    const s = chains[id].find((x) => x.slot === slot);
    if (s) stepOf.set(id, s);
  }
  const steps = [...stepOf.values()];
  const ops = [...new Set(steps.map((s) => s.op))].sort();
  const make = (kind: VariableKind, key: string, label: string, value: (id: string) => string): Variable => {
    const valueOf: Record<string, string> = {};
    for (const id of ids) valueOf[id] = value(id);
    return { key, label, kind, slot, levels: levelsOf(valueOf, ids), valueOf, aliases: [] };
  };
  const out: Variable[] = [];
  const short = ops.map((o) => (familyOf(o) === o ? o : o.slice(familyOf(o).length + 1))).join(" / ");
  if (slot !== "origin") {
    out.push(make("presence", `${slot}:present`, `has ${slot} step (${short})`, (id) => (stepOf.has(id) ? "yes" : "no")));
  }
  out.push(make("type", `${slot}:op`, `${slot} operation`, (id) => stepOf.get(id)?.op ?? NONE));
  for (const name of paramNames(steps)) {
    out.push(
      make("param", `${slot}:param:${name}`, `${slot} · ${name}`, (id) => {
        const s = stepOf.get(id);
        return s ? paramValue(s, name) : NONE;
      }),
    );
  }
  if (slot === "origin") {
    out.push(make("origin", "origin:model", "origin model", (id) => stepOf.get(id)?.modelName ?? NONE));
  }
  return out;
}

/** The whole sequence of operations after the shared ancestor: "prune.magnitude → train.finetune". */
function pipelineVariable(ids: string[], chains: Record<string, Step[]>): Variable {
  const valueOf: Record<string, string> = {};
  for (const id of ids) valueOf[id] = chains[id].map((s) => s.op).join(" → ") || NONE;
  return { key: "pipeline", label: "operation sequence", kind: "pipeline", slot: "", levels: levelsOf(valueOf, ids), valueOf, aliases: [] };
}

/** Per slot, the parameter names whose value differs among the steps of that slot. */
export function varyingParams(slots: string[], chains: Record<string, Step[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const slot of slots) {
    const steps = Object.values(chains).flatMap((c) => c.filter((s) => s.slot === slot));
    out[slot] = paramNames(steps).filter((n) => new Set(steps.map((s) => paramValue(s, n))).size > 1);
  }
  return out;
}

/** What differs between the models (2+ for anything to differ) and what they share. */
export function findDifferences(models: ApiModel[], byId: Map<string, ApiModel>): Differences {
  const unique = [...new Map(models.map((m) => [m.id, m])).values()];
  const ids = unique.map((m) => m.id);
  const lines = unique.map((m) => lineage(m, byId));
  const shared = sharedPrefixLength(lines);
  const ancestor = shared > 0 ? lines[0][shared - 1] : null;
  const chains: Record<string, Step[]> = {};
  unique.forEach((m, i) => (chains[m.id] = stepsAfter(lines[i], shared, byId)));
  const slots: string[] = [];
  for (const id of ids) for (const s of chains[id]) if (!slots.includes(s.slot)) slots.push(s.slot);

  const variables: Variable[] = [];
  const sharedFacts: SharedFact[] = [];
  const byPartition = new Map<string, Variable>();
  const candidates = [pipelineVariable(ids, chains), ...slots.flatMap((slot) => slotVariables(slot, ids, chains))];
  for (const v of candidates) {
    if (v.levels.length < 2) {
      // "has prune step: yes" for all says nothing the shared operation does not
      if (v.kind !== "presence") sharedFacts.push({ label: v.kind === "type" ? v.slot : v.label, value: v.levels[0]?.label ?? NONE });
      continue;
    }
    const key = partitionKey(v);
    const twin = byPartition.get(key);
    if (twin) twin.aliases.push(v.label);
    else {
      byPartition.set(key, v);
      variables.push(v);
    }
  }
  return { ancestor, chains, slots, variables, shared: sharedFacts, varying: varyingParams(slots, chains) };
}

export interface BarStat {
  /** level of the secondary variable ("" without one) */
  level: string;
  /** models in this bar */
  total: number;
  /** models with a value for the metric */
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  ids: string[];
}

export interface BarGroup {
  level: string;
  bars: BarStat[];
}

/** Mean, min, max and count of a metric over some models (missing values are skipped). */
export function summarize(models: ApiModel[], metricKey: string, level = ""): BarStat {
  const vals = models.map((m) => metricValue(m, metricKey)).filter((v): v is number => v !== null);
  const count = vals.length;
  return {
    level,
    total: models.length,
    count,
    mean: count ? vals.reduce((a, b) => a + b, 0) / count : null,
    min: count ? Math.min(...vals) : null,
    max: count ? Math.max(...vals) : null,
    ids: models.map((m) => m.id),
  };
}

/**
 * One group per level of `variable`; inside, one bar per level of `secondary` (empty
 * combinations left out) or a single bar when there is no secondary variable.
 */
export function groupStats(
  models: ApiModel[],
  variable: Variable,
  metricKey: string,
  secondary: Variable | null = null,
): BarGroup[] {
  const byId = new Map(models.map((m) => [m.id, m]));
  const pick = (ids: string[]) => ids.map((id) => byId.get(id)).filter((m): m is ApiModel => m !== undefined);
  return variable.levels.map((lv) => {
    if (!secondary || secondary.key === variable.key) return { level: lv.label, bars: [summarize(pick(lv.ids), metricKey)] };
    const inLevel = new Set(lv.ids);
    const bars = secondary.levels
      .map((sl) => summarize(pick(sl.ids.filter((id) => inLevel.has(id))), metricKey, sl.label))
      .filter((b) => b.total > 0);
    return { level: lv.label, bars };
  });
}

/** The metrics shown first: accuracy per dataset, then size, latency and MACs. */
export function mainMetricKeys(keys: string[]): string[] {
  const name = (k: string) => k.slice(k.indexOf("/") + 1);
  const acc = keys.filter((k) => name(k) === "accuracy");
  const model = ["model/compressed_bytes", "model/latency_ms_b1", "model/macs"].filter((k) => keys.includes(k));
  const picked = [...acc, ...model];
  return picked.length ? picked : keys.slice(0, 3);
}
