/** Behaviours view: per-class accuracy change of each selected model versus the base. */
import type { Refine, Schemas } from "../../lib/schema";
import type { ApiModel } from "../../lib/types";

/** Most models compared at once (GET /api/behaviours answers up to 50). */
export const MAX_BEHAVIOUR_MODELS = 50;
/** Bootstrap resamples requested from /api/behaviours (kept small to stay fast). */
export const BEHAVIOUR_N_BOOT = 200;

/** The direction of a significant excess change (Δ minus the model's overall change), as
 * the API names it: the class lost more than the model overall, or fared better. */
export type Excess = "loss" | "gain";

/** The same words as the Python API and the CLI (compresslens.analysis.predictions.EXCESS_MEANING). */
export const EXCESS_MEANING: Record<Excess, string> = {
  loss: "lost more than the model overall",
  gain: "fared better than the model overall",
};

/** The mark drawn beside a cell's Δ for each direction. */
export const EXCESS_MARK: Record<Excess, string> = { loss: "▼", gain: "▲" };

/** A per-class row (`class`) or a per-subgroup row (`value`) of a comparison. */
export type ClassChange = Schemas["ClassChange"] | Schemas["SubgroupChange"];

/** GET /api/compare: the base against one model. */
export type CompareAnswer = Schemas["CompareAnswer"];

/** One model's record in GET /api/behaviours. */
export type ModelBehaviour = Schemas["ModelBehaviour"];

/** GET /api/behaviours: the base against each model, in one answer. */
export type BatchAnswer = Schemas["BehavioursAnswer"];

/** GET /api/compare/transitions: base class × model class counts. */
export type TransitionsAnswer = Schemas["TransitionsAnswer"];

/** GET /api/agreement: the share of equal predictions of every pair of models. */
export type AgreementAnswer = Schemas["AgreementAnswer"];

/** GET /api/compare/calibration: the base's and each model's reliability curve and ECE. */
export type CalibrationAnswer = Schemas["CalibrationAnswer"];

/** One model's calibration (a series of the calibration chart). */
export type ModelCalibration = Schemas["ModelCalibration"];

export interface BehaviourCell {
  modelId: string;
  change: ClassChange | null;
  /** the direction of a significant excess change, as the API gives it */
  excess: Excess | null;
}

export interface BehaviourRow {
  key: string;
  label: string;
  count: number | null;
  baseAccuracy: number | null;
  cells: BehaviourCell[];
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Datasets a model has metrics for (every metrics group except "model"). */
export function evaluatedDatasets(m: ApiModel | undefined): string[] {
  if (!m?.metrics) return [];
  return Object.keys(m.metrics).filter((k) => k !== "model");
}

/** Datasets the base and at least one model are evaluated on; those covering all models first. */
export function behaviourDatasets(base: ApiModel | undefined, models: ApiModel[]): string[] {
  const onBase = evaluatedDatasets(base);
  const cover = (d: string) => models.filter((m) => evaluatedDatasets(m).includes(d)).length;
  const usable = onBase.filter((d) => models.length === 0 || cover(d) > 0);
  // stable: full coverage first, then by coverage, then the base's order
  return usable
    .map((d, i) => ({ d, i, c: cover(d) }))
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .map((x) => x.d);
}

/** The models to compare: the selection without the base, at most `max`. */
export function comparedModels(selected: string[], base: string | null, max = MAX_BEHAVIOUR_MODELS): {
  ids: string[];
  dropped: number;
} {
  const ids = selected.filter((id) => id !== base);
  return { ids: ids.slice(0, max), dropped: Math.max(0, ids.length - max) };
}

/** The direction of a cell's significant excess change, read from the answer (the test is the
 * server's); anything but "loss" or "gain" is none. */
export function excessOf(c: ClassChange | null | undefined): Excess | null {
  const e = c?.excess;
  return e === "loss" || e === "gain" ? e : null;
}

/** What a direction means, in words ("" for none). */
export function excessTitle(e: Excess | null): string {
  return e ? EXCESS_MEANING[e] : "";
}

/** Query string for GET /api/compare. */
export function compareUrl(base: string, model: string, dataset: string, nBoot = BEHAVIOUR_N_BOOT): string {
  const q = new URLSearchParams({ base, model, dataset, n_boot: String(nBoot) });
  return `api/compare?${q.toString()}`;
}

/** Query string for GET /api/behaviours (the base against many models at once). */
export function behavioursUrl(base: string, models: string[], dataset: string, nBoot = BEHAVIOUR_N_BOOT): string {
  const q = new URLSearchParams({ base, models: models.join(","), dataset, n_boot: String(nBoot) });
  return `api/behaviours?${q.toString()}`;
}

/** The batch answer's records by model id. */
export function answersById(batch: BatchAnswer | null | undefined): Map<string, CompareAnswer> {
  return new Map((batch?.models ?? []).map((m) => [m.model.id, m] as const));
}

/** Rows = union of classes over the answers (in first-seen order), one cell per model. */
export function buildTable(modelIds: string[], answers: Map<string, CompareAnswer | undefined>): BehaviourRow[] {
  return buildRows(modelIds, (id) => answers.get(id)?.per_class, (c) => String(c.class));
}

export interface SubgroupRow extends BehaviourRow {
  attribute: string;
  value: string;
}

/** Subgroup rows: per attribute (first-seen order), one row per value, one cell per model. */
export function buildSubgroupTable(modelIds: string[], answers: Map<string, CompareAnswer | undefined>): SubgroupRow[] {
  const attributes: string[] = [];
  for (const id of modelIds)
    for (const a of Object.keys(answers.get(id)?.per_subgroup ?? {})) if (!attributes.includes(a)) attributes.push(a);
  return attributes.flatMap((attribute) =>
    buildRows(modelIds, (id) => answers.get(id)?.per_subgroup?.[attribute], (c) => String(c.value)).map((r) => ({
      ...r,
      key: `${attribute}=${r.key}`,
      attribute,
      value: r.key,
    })),
  );
}

function buildRows<C extends ClassChange>(
  modelIds: string[],
  listOf: (id: string) => C[] | undefined,
  keyOf: (c: C) => string,
): BehaviourRow[] {
  const rows = new Map<string, BehaviourRow>();
  const order: string[] = [];
  const lookup = new Map<string, Map<string, ClassChange>>();
  for (const id of modelIds) {
    const byClass = new Map<string, ClassChange>();
    for (const c of listOf(id) ?? []) {
      const key = keyOf(c);
      byClass.set(key, c);
      if (!rows.has(key)) {
        order.push(key);
        rows.set(key, {
          key,
          label: key,
          count: num(c.count),
          baseAccuracy: num(c.base_accuracy),
          cells: [],
        });
      }
    }
    lookup.set(id, byClass);
  }
  return order.map((key) => {
    const row = rows.get(key)!;
    const cells = modelIds.map((modelId) => {
      const change = lookup.get(modelId)?.get(key) ?? null;
      return { modelId, change, excess: excessOf(change) };
    });
    return { ...row, cells };
  });
}

/** Accuracy change in percentage points, signed: "+1.2", "−3.4", "0.0"; "–" when missing. */
export function formatPoints(v: number | null | undefined, digits = 1): string {
  const x = num(v);
  if (x === null) return "–";
  const p = x * 100;
  const s = Math.abs(p).toFixed(digits);
  if (Number(s) === 0) return (0).toFixed(digits);
  return `${p > 0 ? "+" : "\u2212"}${s}`;
}

/** "[−3.1, +0.4]" in points, or "" when the interval is missing. */
export function formatInterval(c: ClassChange | null | undefined): string {
  const lo = num(c?.delta_low);
  const hi = num(c?.delta_high);
  if (lo === null || hi === null) return "";
  return `[${formatPoints(lo)}, ${formatPoints(hi)}]`;
}

/** Horizontal extent for the interval glyphs: symmetric around 0, covering every interval. */
export function glyphExtent(rows: BehaviourRow[], minimum = 0.02): number {
  let m = minimum;
  for (const r of rows)
    for (const c of r.cells) {
      for (const v of [c.change?.delta, c.change?.delta_low, c.change?.delta_high]) {
        const x = num(v);
        if (x !== null) m = Math.max(m, Math.abs(x));
      }
    }
  return m;
}

/** How far a model's column reaches: the largest |Δ| or interval bound among its cells. */
export function columnExtents(rows: BehaviourRow[], minimum = 0.02): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows)
    for (const c of r.cells) {
      let m = out.get(c.modelId) ?? minimum;
      for (const v of [c.change?.delta, c.change?.delta_low, c.change?.delta_high]) {
        const x = num(v);
        if (x !== null) m = Math.max(m, Math.abs(x));
      }
      out.set(c.modelId, m);
    }
  return out;
}

/** The glyphs' shared scale, and what it leaves out. */
export interface GlyphScale {
  /** the bar spans ±extent around 0 */
  extent: number;
  /** models whose column reaches far beyond the others: their values past ±extent are clipped */
  outliers: string[];
  /** values (Δ and interval bounds) that lie beyond ±extent */
  clipped: number;
}

/** A shared glyph scale that one collapsed model cannot flatten.
 *
 * With one scale fitted to every value, a model that lost 60 points in some class squeezes
 * every other column's glyphs into dots around 0. Here a column is an outlier when it reaches
 * more than `ratio` times as far as the typical (lower-median) column; the scale covers every
 * other column fully, and the outliers' values beyond it are drawn clipped at the edge (and
 * counted, so the legend can say so). With no outlier this is `glyphExtent`. */
export function robustGlyphScale(rows: BehaviourRow[], minimum = 0.02, ratio = 3): GlyphScale {
  const reach = columnExtents(rows, minimum);
  const sorted = [...reach.values()].sort((a, b) => a - b);
  if (!sorted.length) return { extent: minimum, outliers: [], clipped: 0 };
  const typical = sorted[Math.floor((sorted.length - 1) / 2)];
  const outliers = [...reach].filter(([, m]) => m > ratio * typical).map(([id]) => id);
  const extent = Math.max(minimum, ...[...reach].filter(([id]) => !outliers.includes(id)).map(([, m]) => m));
  let clipped = 0;
  for (const r of rows)
    for (const c of r.cells)
      for (const v of [c.change?.delta, c.change?.delta_low, c.change?.delta_high]) {
        const x = num(v);
        if (x !== null && Math.abs(x) > extent) clipped += 1;
      }
  return { extent, outliers, clipped };
}

/** Which side a value falls off the glyph scale: −1 (left), 1 (right) or 0 (inside). */
export function glyphClip(v: number, extent: number): -1 | 0 | 1 {
  return v < -extent ? -1 : v > extent ? 1 : 0;
}

/** Map a change in [−extent, extent] to [0, width] pixels (clamped). */
export function glyphX(v: number, extent: number, width: number): number {
  const t = (Math.max(-extent, Math.min(extent, v)) + extent) / (2 * extent);
  return t * width;
}

/** The API's 4xx answer {"detail": …} as a readable line. */
export function errorDetail(status: number, body: unknown): string {
  const d = (body as { detail?: unknown } | null)?.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d))
    return d
      .map((e) => (e && typeof e === "object" && "msg" in e ? String((e as { msg: unknown }).msg) : JSON.stringify(e)))
      .join("; ");
  if (d !== undefined) return JSON.stringify(d);
  return `request failed (HTTP ${status})`;
}

// ------------------------------------------------------------------ drill-down into a class

/** Flip filters of /api/compare/instances, with labels. */
export const FLIP_OPTIONS: { value: string; label: string }[] = [
  { value: "any", label: "any instance" },
  { value: "changed", label: "prediction changed" },
  { value: "correct_to_incorrect", label: "correct → incorrect" },
  { value: "incorrect_to_correct", label: "incorrect → correct" },
  { value: "incorrect_to_other_incorrect", label: "incorrect → other incorrect" },
  { value: "unchanged", label: "unchanged" },
];

/** Sort keys of /api/compare/instances; divergences need stored logits. */
export const SORT_OPTIONS: { value: string; label: string }[] = [
  { value: "kl", label: "KL divergence" },
  { value: "js", label: "JS divergence" },
  { value: "true_prob_change", label: "|Δ true-class prob|" },
  { value: "margin_change", label: "|Δ margin|" },
  { value: "confidence", label: "model confidence" },
  { value: "base_confidence", label: "base confidence" },
  { value: "instance", label: "instance index" },
];

export interface InstanceQuery {
  base: string;
  model: string;
  dataset: string;
  label: number;
  flip: string;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
}

/** Query string for one page of GET /api/compare/instances. */
export function instancesUrl(q: InstanceQuery): string {
  const p = new URLSearchParams({
    base: q.base,
    model: q.model,
    dataset: q.dataset,
    label: String(q.label),
    flip: q.flip,
    sort: q.sort,
    descending: String(q.descending),
    offset: String(q.offset),
    limit: String(q.limit),
  });
  return `api/compare/instances?${p.toString()}`;
}

/** One row of GET /api/compare/instances (the server's rows are `dict[str, Any]`, keyed by `columns`). */
export interface InstanceRow {
  instance: number;
  label: number;
  base_prediction: number;
  prediction: number;
  flip: string;
  base_confidence: number;
  confidence: number;
  true_prob_change: number;
  margin_change: number;
  kl?: number;
  js?: number;
}

/** GET /api/compare/instances, its rows refined. */
export type InstancesPage = Refine<Schemas["InstancePage"], { rows: InstanceRow[] }>;

/** "41–60 of 1,000" for a page; "none" when empty. */
export function pageLabel(total: number, offset: number, shown: number): string {
  if (total <= 0 || shown <= 0) return "none";
  return `${offset + 1}–${offset + shown} of ${total.toLocaleString("en-US")}`;
}

/** The offset of the previous/next page, or null at either end. */
export function pageOffset(total: number, offset: number, limit: number, step: -1 | 1): number | null {
  const next = offset + step * limit;
  if (next < 0 || next >= total) return step < 0 && offset > 0 ? 0 : null;
  return next;
}

/** A short phrase for a flip kind. */
export function flipLabel(kind: string): string {
  return FLIP_OPTIONS.find((f) => f.value === kind)?.label ?? kind;
}

/** The class id (position in class_names) of a class row's name; null when unknown. */
export function classIndex(classNames: string[], name: string): number | null {
  const i = classNames.indexOf(name);
  return i < 0 ? null : i;
}
