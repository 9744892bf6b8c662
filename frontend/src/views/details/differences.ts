/**
 * What differs between selected models: the server's answer (`GET /api/differences`, computed
 * by compresslens.workspace.differences — lineages cut at the shared ancestor, steps aligned
 * into slots by operation family, variables that split the models alike merged) and, here,
 * groupStats, which averages a metric per variable level for the grouped bar charts of the
 * Selection details view. Pure: no Svelte, no fetch.
 */
import type { Refine, Schemas } from "../../lib/schema";
import type { ApiModel } from "../../lib/types";
import { metricValue } from "../../lib/metrics";

/** Label of a slot that a model's lineage does not have (as the server writes it). */
export const NONE = "(none)";

/** One operation of a model's lineage after the shared ancestor, in its slot. */
export type Step = Schemas["Step"];

export type VariableKind = "pipeline" | "presence" | "type" | "param" | "origin";

/** A level of a variable: its label and the models at it. */
export type Level = Schemas["Level"];

/** A way the models differ, its `kind` narrowed to the five the server writes (a `str` there).
 * `levels` are in display order (none/no first, numbers ascending); `aliases` are the labels of
 * variables merged into this one because they split the models identically. */
export type Variable = Refine<Schemas["Variable"], { kind: VariableKind }>;

export type SharedFact = Schemas["SharedFact"];

/** GET /api/differences: the deepest model every lineage goes through (or null), per model its
 * steps after it, the slots in first-seen order, the variables, what is shared and per slot the
 * parameters whose values differ. */
export type Differences = Refine<Schemas["Differences"], { variables: Variable[] }>;

/** The answer for no models: nothing differs, nothing is shared. */
export const NO_DIFFERENCES: Differences = { ancestor: null, chains: {}, slots: [], variables: [], shared: [], varying: {} };

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
  /** the grouping variable's level (what the group's colour says) */
  level: string;
  /** the operations of its models, when the level holds several (else null) */
  operation: string | null;
  /** what the chart writes under the group: the level, and the operations when split */
  label: string;
  bars: BarStat[];
}

/** The operations of the shared ancestor itself (a model with no step after it). */
export const ANCESTOR = "ancestor";

/** Per model, its operations after the shared ancestor ("prune.magnitude → train.finetune";
 * ANCESTOR for the ancestor itself): models that differ here are not pooled into one bar. */
export function operationsOf(diff: Differences): Map<string, string> {
  return new Map(Object.entries(diff.chains).map(([id, steps]) => [id, steps.map((s) => s.op).join(" → ") || ANCESTOR]));
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
 * combinations left out) or a single bar when there is no secondary variable. With
 * `operations` (per model id, see operationsOf), a level whose models differ in their
 * operations becomes one group per operation — a mean over base and int8 hides int8's latency.
 */
export function groupStats(
  models: ApiModel[],
  variable: Variable,
  metricKey: string,
  secondary: Variable | null = null,
  operations: Map<string, string> | null = null,
): BarGroup[] {
  const byId = new Map(models.map((m) => [m.id, m]));
  const pick = (ids: string[]) => ids.map((id) => byId.get(id)).filter((m): m is ApiModel => m !== undefined);
  const group = (level: string, operation: string | null, ids: string[]): BarGroup => {
    const label = operation === null ? level : `${level} · ${operation}`;
    if (!secondary || secondary.key === variable.key) return { level, operation, label, bars: [summarize(pick(ids), metricKey)] };
    const inGroup = new Set(ids);
    const bars = secondary.levels
      .map((sl) => summarize(pick(sl.ids.filter((id) => inGroup.has(id))), metricKey, sl.label))
      .filter((b) => b.total > 0);
    return { level, operation, label, bars };
  };
  return variable.levels.flatMap((lv) => {
    const split = operations ? splitByOperation(lv.ids, operations) : [];
    return split.length > 1 ? split.map(([op, ids]) => group(lv.label, op, ids)) : [group(lv.label, null, lv.ids)];
  });
}

/** Ids by their operations, the ancestor first, then alphabetically. */
export function splitByOperation(ids: string[], operations: Map<string, string>): [string, string[]][] {
  const by = new Map<string, string[]>();
  for (const id of ids) {
    const op = operations.get(id) ?? ANCESTOR;
    by.set(op, [...(by.get(op) ?? []), id]);
  }
  return [...by].sort(([a], [b]) => Number(b === ANCESTOR) - Number(a === ANCESTOR) || a.localeCompare(b));
}

/** Whether some level of `variable` holds models of different operations (what the
 * "pool across operations" choice is about). */
export function mixesOperations(variable: Variable, operations: Map<string, string>): boolean {
  return variable.levels.some((lv) => splitByOperation(lv.ids, operations).length > 1);
}

/** The keys some of `models` have a value for: a default chart never shows only "no value"
 * (the demo's image and language models share one workspace, not their datasets). */
export function metricKeysOf(models: ApiModel[], keys: string[]): string[] {
  return keys.filter((k) => models.some((m) => metricValue(m, k) !== null));
}

/** The metrics shown first: accuracy per dataset, then size, latency and MACs. */
export function mainMetricKeys(keys: string[]): string[] {
  const name = (k: string) => k.slice(k.indexOf("/") + 1);
  const acc = keys.filter((k) => name(k) === "accuracy");
  const model = ["model/compressed_bytes", "model/latency_ms_b1", "model/macs"].filter((k) => keys.includes(k));
  const picked = [...acc, ...model];
  return picked.length ? picked : keys.slice(0, 3);
}
