/** The PIE view's data shaping: presets and defaults, chart and table rows.

Selectors are resolved only by the server (`GET api/select`, `Workspace.select`): the view sends
selector strings and works with the ids it gets back; levels are addressed by the `key` the
answer gives each one. Pure functions, tested in pies.test.ts.
*/
import type { Refine, Schemas } from "../../lib/schema";
import type { ApiModel } from "../../lib/types";
import { populationStudies, seedPopulations, type SeedPopulation, type Study } from "./populations";

export interface MeanSd {
  mean: number | null;
  sd: number | null;
}

export interface PopulationAccuracy {
  all: MeanSd;
  pie: MeanSd;
  non_pie: MeanSd;
}

export interface PieSummary {
  num_instances: number;
  pie_count: number;
  pie_share: number | null;
  baseline: PopulationAccuracy;
  compressed: PopulationAccuracy;
  gap: { all: number | null; pie: number | null; non_pie: number | null };
}

export interface PieClass {
  class: string;
  t: number | null;
  p_value: number | null;
  p_adjusted: number | null;
  normalized_recall_change: number | null;
  impacted: boolean;
}

/** An operation parameter's value as the API gives it: 0.8 stays a number, "global" a string. */
export type LevelValue = string | number | boolean;

export interface PieLevel {
  level: Record<string, LevelValue> | null;
  /** the level as `?level=` names it (from the server; "" without `by`) */
  key: string;
  compressed: string[];
  summary: PieSummary;
  impacted_classes: number;
  classes: PieClass[];
  /** populations of different sizes or of one model (the answer is still given) */
  warnings: string[];
}

export interface PieRow {
  instance: number;
  label: string;
  baseline_modal: string;
  compressed_modal: string;
  baseline_vote: number;
  compressed_vote: number;
}

export type GallerySort = "instance" | "baseline_vote" | "compressed_vote";

/** One page of a level's PIE gallery (GET /api/pies `gallery`), refined: the server types the
 * level as `Any`, the sort as `str` and the rows as `dict[str, Any]`. */
export type PieGallery = Refine<Schemas["GalleryPage"], { level: LevelValue | null; sort: GallerySort; rows: PieRow[] }>;

/** What the gallery's controls change (the rest of the query stays). */
export interface GalleryQuery {
  level: string;
  label: string | null;
  sort: GallerySort;
  descending: boolean;
  offset: number;
}

/** GET /api/pies, refined: the server types `levels` as `dict[str, Any]`; `warnings` holds
 * every level's warnings, once each. */
export type PieResponse = Refine<Schemas["PiesAnswer"], { levels: PieLevel[]; gallery: PieGallery }>;

/** A parameter value as a level key: what tells two levels apart (the server keys levels by
 * their JSON, so 0.5 and "0.5" are two levels). */
function valueKey(value: unknown): string {
  return JSON.stringify(value);
}

export interface Preset {
  value: string;
  label: string;
  count: number;
  /** the preset list's group: "selection", "seed populations", "sweeps" or "tags" */
  group: string;
}

/** Selector presets by name: the current selection, every seed population and sweep of the
 * workspace (see populations.ts), then every tag with 2+ models — never a raw selector. */
export function selectorPresets(models: ApiModel[], selected: string[], studies: Study[] = populationStudies(models)): Preset[] {
  const out: Preset[] = [];
  if (selected.length) {
    out.push({ value: selected.join(","), label: `selected models (${selected.length})`, count: selected.length, group: "selection" });
  }
  const populations = new Map<string, SeedPopulation>();
  for (const s of studies) for (const p of [s.baseline, ...s.levels]) populations.set(p.key, p);
  for (const p of seedPopulations(models)) populations.set(p.key, p);
  for (const p of populations.values()) out.push({ value: p.selector, label: p.label, count: p.ids.length, group: "seed populations" });
  for (const s of studies.filter((x) => x.by)) out.push({ value: s.selector, label: s.label, count: s.ids.length, group: "sweeps" });
  const tags = new Map<string, number>();
  for (const m of models) for (const t of m.tags ?? []) tags.set(t, (tags.get(t) ?? 0) + 1);
  for (const [name, count] of [...tags].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (count >= 2) out.push({ value: `tag:${name}`, label: `${name} (${count} models)`, count, group: "tags" });
  }
  // one entry per selector (a sweep's tag may also be a tag preset): the first, most specific name
  return out.filter((p, i) => out.findIndex((q) => q.value === p.value) === i);
}

/** Presets by group, the groups in the order they first appear. */
export function presetGroups(presets: Preset[]): [string, Preset[]][] {
  const groups = new Map<string, Preset[]>();
  for (const p of presets) groups.set(p.group, [...(groups.get(p.group) ?? []), p]);
  return [...groups];
}

// ------------------------------------------------------------------ defaults

/** The baseline selectors worth trying, in order: models trained from scratch, else the base's
 * operation (the first that the server finds 2+ models for is the default). */
export function baselineCandidates(models: ApiModel[], base: string | null): string[] {
  const baseOp = models.find((m) => m.id === base)?.operation?.name;
  return ["op:train.scratch", ...(baseOp && baseOp !== "train.scratch" ? [`op:${baseOp}`] : [])];
}

/** The first candidate with 2+ models (sizes as the server counted them), else none. */
export function defaultBaseline(sizes: [string, number][]): string {
  return sizes.find(([, count]) => count >= 2)?.[0] ?? "";
}

/** The compressed population: the selection (2+ models outside the baseline), else the most
 * common tag among the baseline's children that no baseline model carries (e.g. a stage). */
export function defaultCompressed(models: ApiModel[], selected: string[], inBaseline: Set<string>): string {
  const outside = selected.filter((id) => !inBaseline.has(id));
  if (outside.length >= 2) return outside.join(",");
  const baselineTags = new Set(models.filter((m) => inBaseline.has(m.id)).flatMap((m) => m.tags ?? []));
  const counts = new Map<string, number>();
  for (const m of models) {
    const parents = (m.operation?.parents ?? []).map((p) => p.id);
    if (!parents.some((p) => inBaseline.has(p))) continue;
    for (const t of m.tags ?? []) if (!baselineTags.has(t)) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const best = [...counts].filter(([, n]) => n >= 2).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  return best ? `tag:${best[0]}` : "";
}

/** Operation parameters every compressed model has; the ones whose value varies come first. */
export function byOptions(compressed: ApiModel[]): { name: string; values: string[] }[] {
  if (!compressed.length) return [];
  const names = Object.keys(compressed[0].operation?.params ?? {}).filter((k) =>
    compressed.every((m) => m.operation?.params && k in m.operation.params),
  );
  const options = names.map((name) => ({
    name,
    values: [...new Set(compressed.map((m) => valueKey(m.operation!.params![name])))],
  }));
  return options.sort((a, b) => Number(b.values.length > 1) - Number(a.values.length > 1) || a.name.localeCompare(b.name));
}

/** Split by a parameter that varies with few levels (e.g. `amount`), else none; every level must
 * keep a population of 2+ models (a population of one gets no Welch test, only a warning). */
export function defaultBy(compressed: ApiModel[]): string {
  const smallestLevel = (name: string) => {
    const counts = new Map<string, number>();
    for (const m of compressed) {
      const v = valueKey(m.operation!.params![name]);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    return Math.min(...counts.values());
  };
  const varying = byOptions(compressed).filter(
    (o) => o.values.length > 1 && o.values.length <= 12 && smallestLevel(o.name) >= 2,
  );
  const preferred = varying.find((o) => o.name === "amount");
  return (preferred ?? varying[0])?.name ?? "";
}

// ------------------------------------------------------------------ shaping

/** A level's name in the charts: "amount 0.8", or "all compressed" without `by`. */
export function levelLabel(level: Record<string, LevelValue> | null): string {
  if (!level) return "all compressed";
  return Object.entries(level)
    .map(([k, v]) => `${k} ${levelText(v)}`)
    .join(", ");
}

/** One level value as shown (a level is addressed by the answer's `key`, not by this text). */
export function levelText(value: LevelValue | null | undefined): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Populations are identities (lib/palette: Dark2 teal = baseline, purple = compressed; lighter = on PIEs), never the red/blue of a change. */
export const ACCURACY_SERIES = [
  { key: "baseline-pie", population: "baseline", subset: "pie", label: "baseline on PIEs", color: "#a6dbc9" },
  { key: "baseline-non_pie", population: "baseline", subset: "non_pie", label: "baseline on the rest", color: "#1b9e77" },
  { key: "compressed-pie", population: "compressed", subset: "pie", label: "compressed on PIEs", color: "#c5c2e3" },
  { key: "compressed-non_pie", population: "compressed", subset: "non_pie", label: "compressed on the rest", color: "#7570b3" },
] as const;

export interface AccuracyBar {
  series: (typeof ACCURACY_SERIES)[number]["key"];
  label: string;
  color: string;
  mean: number | null;
  sd: number | null;
}

/** Per level, the four bars of the accuracy chart: each population on PIEs and on the rest. */
export function accuracyBars(level: PieLevel): AccuracyBar[] {
  return ACCURACY_SERIES.map((s) => {
    const v = level.summary[s.population][s.subset];
    return { series: s.key, label: s.label, color: s.color, mean: v.mean, sd: v.sd };
  });
}

export interface ClassRow {
  name: string;
  /** one cell per level, in the levels' order */
  cells: PieClass[];
  impactedAnywhere: boolean;
}

/** The sign of a class's t as the table colours it: "gain" (t > 0, --better), "loss"
 * (t < 0, --worse), "" for 0 or no value. */
export function tSign(t: number | null): "gain" | "loss" | "" {
  return t === null || !Number.isFinite(t) || t === 0 ? "" : t > 0 ? "gain" : "loss";
}

/** The impacted-class table: one row per class, one cell per level. */
export function classRows(levels: PieLevel[], classNames: string[]): ClassRow[] {
  return classNames.map((name, c) => {
    const cells = levels.map((l) => l.classes[c]);
    return { name, cells, impactedAnywhere: cells.some((x) => x?.impacted) };
  });
}

export interface PageInfo {
  from: number;
  to: number;
  page: number;
  pages: number;
  prev: number | null;
  next: number | null;
}

/** "from–to of total" and the offsets of the neighbouring pages (null at either end). */
export function pageInfo(offset: number, limit: number, total: number): PageInfo {
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.min(pages, Math.floor(offset / limit) + 1);
  return {
    from: total ? offset + 1 : 0,
    to: Math.min(total, offset + limit),
    page,
    pages,
    prev: offset > 0 ? Math.max(0, offset - limit) : null,
    next: offset + limit < total ? offset + limit : null,
  };
}

/** A p value for a table: 3 significant digits, "<1e-4" style for tiny ones. */
export function formatP(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return "–";
  if (p < 1e-4) return p.toExponential(1);
  return p.toPrecision(2);
}

/** A share or accuracy as a percentage with one decimal. */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(100 * x).toFixed(digits)}%`;
}
