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
  sqnr_db: number | null;
}

/** GET /api/layers/activations: the rows refined, and the module lists the server leaves to
 * `extra`. `first_divergent_layers` is per offered CKA threshold, as the server writes it ("0.95"). */
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

export const ACTIVATION_METRICS: { key: ActivationMetric; label: string; unit: string }[] = [
  { key: "cka", label: "linear CKA", unit: "" },
  { key: "cosine", label: "cosine similarity", unit: "" },
  { key: "sqnr_db", label: "SQNR", unit: "dB" },
];

/** One model's activation comparison as the view holds it while it loads. */
export type ActEntry =
  | { state: "loading"; progress: Progress | null; job?: JobDescription }
  | { state: "ok"; answer: ActivationsAnswer }
  | { state: "error"; message: string };

export interface HeatGrid {
  modules: string[];
  /** per module, per model column (same order as the ids given): the value or null */
  values: (number | null)[][];
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
  return { modules, values };
}

/** The first module whose CKA is below `threshold`, as the server's answer names it (the
 * rule is Python's first_divergent_layer; the answer carries every threshold the view offers). */
export function firstDiverging(answer: ActivationsAnswer, threshold: number): string | null {
  return answer.first_divergent_layers?.[String(threshold)] ?? null;
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

/** The heat map's colour domain [worse, better]: similarities reach up to 1 and down to at least
 * the divergence threshold (so a cell under it is visibly darker); SQNR spans its values. */
export function heatDomain(values: (number | null)[], metric: ActivationMetric, threshold: number): [number, number] | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (!finite.length) return null;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (metric !== "sqnr_db") {
    lo = Math.min(lo, threshold);
    hi = Math.max(hi, 1);
  }
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}
