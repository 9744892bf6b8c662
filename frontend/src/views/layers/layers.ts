/** Data shaping for the Layers view (pure, testable): the module tree, the per-model cells,
 * pattern filtering, the activation heat map and the sensitivity ranking.
 *
 * The shapes mirror the Python results: Comparison.layers() (GET /api/layers), Comparison.
 * activations() (GET /api/layers/activations), weight_histograms (GET /api/layers/histogram)
 * and Workspace.sensitivity (GET /api/sensitivity).
 */
import type { JobDescription, Progress } from "../../lib/api";
import type { Refine, Schemas } from "../../lib/schema";

export interface SideSummary {
  numel: number;
  zeros: number;
  sparsity: number;
  shape?: unknown;
}

export interface ZeroOverlap {
  base_only: number;
  model_only: number;
  both: number;
  base_only_share: number;
  model_only_share: number;
  both_share: number;
}

/** One module's row of Comparison.layers()["modules"]. */
export interface ModuleRow {
  module: string;
  base: SideSummary;
  model: SideSummary;
  quantized: boolean;
  comparable: boolean;
  reason: string | null;
  zero_overlap?: ZeroOverlap;
  changed_share?: number;
  relative_change?: { mean: number; quantiles: Record<string, number> };
  relative_change_histogram?: number[];
  sqnr_db?: number | null;
  low_rank?: { rank: number; relative_error: number; sqnr_db: number | null };
}

/** One enclosing module's roll-up row ("" is the whole model). */
export interface RollupRow {
  module: string;
  modules: number;
  base: SideSummary;
  model: SideSummary;
  comparable_numel: number;
  zero_overlap: ZeroOverlap;
  relative_change_mean: number;
  relative_change_histogram: number[];
  sqnr_db: number | null;
}

/** Comparison.layers() as GET /api/layers answers it; the server types its rows `dict[str, Any]`. */
export type LayersResult = Refine<Schemas["LayerComparison"], { modules: ModuleRow[]; rollup: RollupRow[] }>;

/** GET /api/layers. */
export type LayersAnswer = Refine<Schemas["LayersAnswer"], { layers: LayersResult }>;

export interface ActivationRow {
  module: string;
  same_shape: boolean;
  cka: number | null;
  cosine: number | null;
  rel_l2: number | null;
  /** null when identical (infinite) or the shapes differ */
  sqnr_db: number | null;
  /** the activations equal the base's exactly (SQNR +∞, which JSON cannot carry) */
  identical?: boolean;
}

/** GET /api/layers/activations: the rows refined, and the module lists the server leaves to
 * `extra`. `first_diverging` is per metric, per offered threshold as the server writes it
 * ("0.999", "60"); `first_divergent_layers` is CKA's. */
export type ActivationsAnswer = Refine<
  Schemas["ActivationsAnswer"],
  { modules: ActivationRow[]; only_in_base: string[]; only_in_model: string[] }
>;

/** GET /api/layers/histogram: the bins and per-model counts the server leaves to `extra`. */
export type WeightHistogram = Refine<
  Schemas["WeightHistograms"],
  { edges: number[]; counts: Record<string, number[]>; numel: Record<string, number>; zeros: Record<string, number> }
>;

/** One layer of the sensitivity ranking (±inf, a broken layer, arrives as null). */
export type SensitivityRow = Schemas["LayerSensitivity"];

/** GET /api/sensitivity: the run's facts, which the server leaves to `extra`, refined. */
export type SensitivityAnswer = Refine<
  Schemas["SensitivityAnswer"],
  {
    model: string;
    dataset: string;
    operation: { name: string; params: Record<string, unknown> };
    instances: number;
  }
>;

// ------------------------------------------------------------------ module tree

export interface TreeRow {
  name: string; // "" is the whole model
  label: string;
  depth: number;
  /** a module with weights of its own (a row of Comparison.layers()["modules"]) */
  leaf: boolean;
}

/** Enclosing modules of a dotted name, outermost first, without the whole model (""). */
export function enclosing(name: string): string[] {
  const parts = name.split(".");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("."));
}

/** Names in forward order over several answers: the longest answer's order first (it is the
 * most complete), then any names only the others have, in their order. */
export function mergedOrder(lists: string[][]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const list of [...lists].sort((a, b) => b.length - a.length)) {
    for (const name of list) {
      if (!seen.has(name)) {
        seen.add(name);
        out.push(name);
      }
    }
  }
  return out;
}

/** The module tree over every answer's leaf modules, depth first in forward order, the whole
 * model first; each module is indented by its dotted depth under its enclosing module. */
export function moduleTree(results: LayersResult[]): TreeRow[] {
  const leaves = mergedOrder(results.map((r) => r.modules.map((row) => row.module)));
  if (!leaves.length) return [];
  const children = new Map<string, string[]>();
  const known = new Set<string>([""]);
  for (const leaf of leaves) {
    const chain = ["", ...enclosing(leaf), leaf];
    for (let i = 1; i < chain.length; i++) {
      if (known.has(chain[i])) continue;
      known.add(chain[i]);
      children.set(chain[i - 1], [...(children.get(chain[i - 1]) ?? []), chain[i]]);
    }
  }
  const own = new Set(leaves);
  const rows: TreeRow[] = [];
  const visit = (name: string, depth: number) => {
    const kids = children.get(name) ?? [];
    const label = name === "" ? "whole model" : (name.split(".").at(-1) ?? name);
    rows.push({ name, label, depth, leaf: own.has(name) }); // leaf: has weights of its own
    for (const kid of kids) visit(kid, depth + 1);
  };
  visit("", 0);
  return rows;
}

// ------------------------------------------------------------------ pattern filter

/** A case-insensitive test for a module name: a glob (`*`, `?`) matches the whole name, any
 * other text is a substring; an empty pattern matches everything. */
export function modulePattern(pattern: string): (name: string) => boolean {
  const p = pattern.trim().toLowerCase();
  if (!p) return () => true;
  if (!/[*?]/.test(p)) return (name) => name.toLowerCase().includes(p);
  const source = p
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name.toLowerCase());
}

/** Rows whose name matches, plus their enclosing modules (so the tree keeps its shape). */
export function filterTree(rows: TreeRow[], pattern: string): TreeRow[] {
  if (!pattern.trim()) return rows;
  const test = modulePattern(pattern);
  const keep = new Set<string>();
  for (const r of rows) {
    if (r.name !== "" && test(r.name)) {
      keep.add(r.name);
      keep.add("");
      enclosing(r.name).forEach((a) => keep.add(a));
    }
  }
  return rows.filter((r) => keep.has(r.name));
}

// ------------------------------------------------------------------ per-model cells

export interface LayerCell {
  sparsity: number;
  baseSparsity: number;
  /** zero overlap with the base, as shares of the comparable weights (null: not comparable) */
  overlap: { both: number; modelOnly: number; baseOnly: number } | null;
  relChange: number | null;
  sqnr: number | null;
  histogram: number[] | null;
  note: string | null;
}

/** One module's numbers for one model: a leaf row or an enclosing module's roll-up. */
export function layerCell(result: LayersResult | undefined, module: string): LayerCell | null {
  if (!result) return null;
  const row = result.modules.find((r) => r.module === module);
  if (row) {
    const o = row.zero_overlap;
    return {
      sparsity: row.model.sparsity,
      baseSparsity: row.base.sparsity,
      overlap: o ? { both: o.both_share, modelOnly: o.model_only_share, baseOnly: o.base_only_share } : null,
      relChange: row.comparable ? (row.relative_change?.mean ?? null) : null,
      sqnr: row.low_rank ? row.low_rank.sqnr_db : (row.sqnr_db ?? null),
      histogram: row.comparable ? (row.relative_change_histogram ?? null) : null,
      note: row.reason,
    };
  }
  const group = result.rollup.find((r) => r.module === module);
  if (!group) return null;
  const comparable = group.comparable_numel > 0;
  const o = group.zero_overlap;
  return {
    sparsity: group.model.sparsity,
    baseSparsity: group.base.sparsity,
    overlap: comparable ? { both: o.both_share, modelOnly: o.model_only_share, baseOnly: o.base_only_share } : null,
    relChange: comparable ? group.relative_change_mean : null,
    sqnr: group.sqnr_db,
    histogram: comparable && group.relative_change_histogram.length ? group.relative_change_histogram : null,
    note: comparable ? null : "no element-wise comparable weights",
  };
}

// ------------------------------------------------------------------ histograms

export interface Bar {
  x0: number;
  x1: number;
  count: number;
  share: number;
}

/** Bins with their share of the total; an empty histogram gives no bars. */
export function histogramBars(edges: number[], counts: number[]): Bar[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total || edges.length !== counts.length + 1) return [];
  return counts.map((count, i) => ({ x0: edges[i], x1: edges[i + 1], count, share: count / total }));
}

/** The relative-change bins, with the first one ([0, 1e-4): unchanged) split off. */
export function changeDistribution(edges: number[], counts: number[] | null): { unchanged: number; bars: Bar[] } | null {
  if (!counts) return null;
  const bars = histogramBars(edges, counts);
  if (!bars.length) return null;
  return { unchanged: bars[0].share, bars: bars.slice(1) };
}

// ------------------------------------------------------------------ activations

export type ActivationMetric = "cka" | "cosine" | "sqnr_db";

export interface ActivationMetricInfo {
  key: ActivationMetric;
  label: string;
  unit: string;
  /** the thresholds offered for "diverging below" (as the server answers them) */
  thresholds: number[];
  /** the default: between half-precision rounding and int8 on the demo (see
   * workspace/layers.py DEFAULT_DIVERGENCE, which the e2e pass compares with) */
  threshold: number;
}

const SIMILARITY_THRESHOLDS = [0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999];

export const ACTIVATION_METRICS: ActivationMetricInfo[] = [
  { key: "cka", label: "linear CKA", unit: "", thresholds: SIMILARITY_THRESHOLDS, threshold: 0.999999 },
  { key: "cosine", label: "cosine similarity", unit: "", thresholds: SIMILARITY_THRESHOLDS, threshold: 0.999999 },
  { key: "sqnr_db", label: "SQNR", unit: "dB", thresholds: [10, 20, 30, 40, 50, 60], threshold: 60 },
];

export function metricInfo(metric: ActivationMetric): ActivationMetricInfo {
  return ACTIVATION_METRICS.find((m) => m.key === metric) ?? ACTIVATION_METRICS[0];
}

/** The metric's name with its unit, as labels show it: "SQNR (dB)", "linear CKA". */
export function metricName(metric: ActivationMetric): string {
  const info = metricInfo(metric);
  return info.unit ? `${info.label} (${info.unit})` : info.label;
}

/** One model's activation comparison as the view holds it while it loads. */
export type ActEntry =
  | { state: "loading"; progress: Progress | null; job?: JobDescription }
  | { state: "ok"; answer: ActivationsAnswer }
  | { state: "error"; message: string };

export interface HeatGrid {
  modules: string[];
  /** per module, per model column (same order as the ids given): the value or null */
  values: (number | null)[][];
  /** per module, per model column: the activations equal the base's (SQNR then has no value) */
  identical: boolean[][];
}

/** Layers × models: modules in forward order (mergedOrder of the answers). */
export function activationGrid(
  ids: string[],
  answers: Map<string, ActivationsAnswer | undefined>,
  metric: ActivationMetric,
): HeatGrid {
  const modules = mergedOrder(ids.map((id) => (answers.get(id)?.modules ?? []).map((r) => r.module)));
  const lookup = ids.map((id) => new Map((answers.get(id)?.modules ?? []).map((r) => [r.module, r])));
  const values = modules.map((m) =>
    lookup.map((rows) => {
      const v = rows.get(m)?.[metric];
      return typeof v === "number" && Number.isFinite(v) ? v : null;
    }),
  );
  const identical = modules.map((m) => lookup.map((rows) => rows.get(m)?.identical === true));
  return { modules, values, identical };
}

/** The first module whose `metric` is below `threshold`, as the server's answer names it (the
 * rule is Python's first_divergent_layer; the answer carries every threshold the view offers). */
export function firstDiverging(answer: ActivationsAnswer, metric: ActivationMetric, threshold: number): string | null {
  return answer.first_diverging?.[metric]?.[String(threshold)] ?? null;
}

/** Digits that keep a similarity below 1 from reading as 1: one more than the zeros of 1 − v
 * (0.9999979 needs 7), at least 4, at most 12. */
export function similarityDigits(v: number): number {
  if (!(v < 1)) return 4;
  const nines = Math.ceil(-Math.log10(1 - v));
  return Math.min(12, Math.max(4, nines + 1));
}

/** A heat-map cell's text: SQNR in dB ("∞ dB" for an identical layer), similarities with the
 * digits that tell them from 1; "–" for no value. */
export function activationText(v: number | null, metric: ActivationMetric, identical = false): string {
  if (metric === "sqnr_db") return identical ? "∞ dB" : v === null ? "–" : `${num(v, 1)} dB`;
  return v === null ? "–" : num(v, similarityDigits(v));
}

/** A threshold as its option reads: "60 dB", "0.999999". */
export function thresholdText(t: number, metric: ActivationMetric): string {
  return metric === "sqnr_db" ? `${t} dB` : String(t);
}

// ------------------------------------------------------------------ sensitivity

export interface RankedLayer extends SensitivityRow {
  broken: boolean;
  excluded: boolean;
  bits: number | null;
  /** bar length in [0, 1]: the drop over the largest finite drop (broken: 1) */
  width: number;
}

/** The ranking, most sensitive first, with what the ops would do with each layer. */
export function sensitivityRanking(answer: SensitivityAnswer): RankedLayer[] {
  const rows = [...answer.ranking].sort((a, b) => a.rank - b.rank);
  const finite = rows.map((r) => r.drop).filter((d): d is number => d !== null && Number.isFinite(d));
  const top = Math.max(0, ...finite);
  const excluded = new Set(answer.exclude);
  return rows.map((r) => {
    const broken = r.drop === null || !Number.isFinite(r.drop);
    return {
      ...r,
      broken,
      excluded: excluded.has(r.layer),
      bits: answer.mixed_precision[r.layer] ?? null,
      width: broken ? 1 : top > 0 ? Math.max(0, r.drop as number) / top : 0,
    };
  });
}

// ------------------------------------------------------------------ formatting

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${(v * 100).toFixed(digits)}%`;
}

export function num(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

/** data-value text: full precision, "" for none (so tests can compare exactly). */
export function dataValue(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "" : String(v);
}

/** A heat-map cell's data-value: an identical layer's SQNR is "Infinity" (Python reads it). */
export function activationDataValue(v: number | null, metric: ActivationMetric, identical: boolean): string {
  return metric === "sqnr_db" && identical ? "Infinity" : dataValue(v);
}

/** The heat map's colour domain [worse, better]: similarities reach up to 1 and down to at least
 * the divergence threshold (so a cell under it is visibly darker); SQNR spans its values and
 * up to the threshold. */
export function heatDomain(values: (number | null)[], metric: ActivationMetric, threshold: number): [number, number] | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (!finite.length) return null;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (metric !== "sqnr_db") {
    lo = Math.min(lo, threshold);
    hi = Math.max(hi, 1);
  } else {
    hi = Math.max(hi, threshold); // cells above the threshold sit at the bright end
  }
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}
