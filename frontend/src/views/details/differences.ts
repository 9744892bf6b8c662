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
