/** The Robustness view's data shaping: which models to ask for, the request URL, the
models × (corruption, severity) table from /api/robustness, and the diverging colour scale of
the accuracy drop versus the base. Pure functions, tested in robustness.test.ts. */
import { scaleDiverging } from "d3-scale";
import { interpolateRdBu } from "d3-scale-chromatic";
import { apiUrl } from "../../lib/api";
import type { Schemas } from "../../lib/schema";
import type { ApiModel, DatasetInfo } from "../../lib/types";

/** What the server's sweep can generate and the view's first choice (GET api/robustness/corruptions):
 * the list lives in Python (compresslens.analysis.robustness), not here. */
export type Corruptions = Schemas["Corruptions"];
export const CORRUPTIONS_URL = "api/robustness/corruptions";
export const LIMITS = [200, 500, 1000, 2000, 5000, 10000] as const;
export const DEFAULT_LIMIT = 500;
/** one corruption sweep per model runs on the server: keep the table (and the wait) bounded */
export const MAX_ROBUSTNESS_MODELS = 20;

/** One model × condition of GET /api/robustness (`model` is the model's name). */
export type RobustnessRow = Schemas["RobustnessRow"];

/** GET /api/robustness. */
export type RobustnessAnswer = Schemas["RobustnessAnswer"];

export interface RobustnessRequest {
  models: string[]; // ids, the base not among them
  base: string;
  dataset: string;
  corruptions: string[];
  severities: number[];
  limit: number;
}

/**
 * The models to compare: the selection without the base, in selection order, at most `cap`.
 * A table already shown is kept while the selection is a non-empty subset of its models, so
 * that clicking a row (which selects that model, for the map) does not empty the table.
 */
export function robustnessModels(
  selected: string[],
  base: string | null,
  shown: string[] = [],
  cap = MAX_ROBUSTNESS_MODELS,
): { ids: string[]; omitted: number; kept: boolean } {
  const wanted = selected.filter((id) => id !== base);
  const shownSet = new Set(shown);
  if (wanted.length && shown.length && wanted.every((id) => shownSet.has(id))) {
    return { ids: shown, omitted: 0, kept: wanted.length < shown.length };
  }
  return { ids: wanted.slice(0, cap), omitted: Math.max(0, wanted.length - cap), kept: false };
}

/** Image datasets (corruptions need images), the base's evaluated ones first. */
export function imageDatasets(datasets: DatasetInfo[], base: ApiModel | undefined): DatasetInfo[] {
  const evaluated = new Set(Object.keys(base?.metrics ?? {}));
  const images = datasets.filter((d) => d.modality === undefined || d.modality === "image");
  const rank = (d: DatasetInfo) => (evaluated.has(d.name) || evaluated.has(d.id) ? 0 : 1);
  return [...images].sort((a, b) => rank(a) - rank(b));
}

/** The api/robustness URL for `req`; with `peek` a sweep neither stored nor running answers
 * `{computed: false}` instead of 409 (the view POSTs the URL without peek to start the sweep). */
export function robustnessUrl(req: RobustnessRequest, peek = false): string {
  return apiUrl("api/robustness", {
    models: req.models.join(","),
    base: req.base,
    dataset: req.dataset,
    corruptions: req.corruptions.join(","),
    severities: req.severities.join(","),
    limit: req.limit,
    peek: peek ? "true" : undefined,
  });
}

/** A stable key of a request: the same key, the same answer. */
export function requestKey(req: RobustnessRequest): string {
  return JSON.stringify([req.base, req.dataset, req.models, req.corruptions, req.severities, req.limit]);
}

export interface Condition {
  corruption: string;
  severity: number;
  key: string;
}

export interface TableCell extends Condition {
  accuracy: number | null;
  drop: number | null;
}

export interface TableRow {
  name: string;
  id: string | null;
  isBase: boolean;
  cells: TableCell[];
  /** mean drop over the corrupted conditions (clean left out); null for the base */
  meanDrop: number | null;
}

export interface RobustnessTable {
  conditions: Condition[];
  /** header groups: each corruption with how many severity columns it spans */
  groups: { corruption: string; span: number }[];
  rows: TableRow[];
}

const conditionKey = (corruption: string, severity: number) => `${corruption}@${severity}`;

/** The answer's long rows as a models × conditions table: clean first, then the corruptions
 * in the answer's order with their severities; the base row first, then the models' order. */
export function buildRobustnessTable(answer: RobustnessAnswer, idByName: Map<string, string>): RobustnessTable {
  const conditions: Condition[] = [{ corruption: "clean", severity: 0, key: conditionKey("clean", 0) }];
  const groups = [{ corruption: "clean", span: 1 }];
  for (const c of answer.corruptions) {
    groups.push({ corruption: c, span: answer.severities.length });
    for (const s of answer.severities) conditions.push({ corruption: c, severity: s, key: conditionKey(c, s) });
  }
  const byModel = new Map<string, Map<string, RobustnessRow>>();
  for (const r of answer.rows ?? []) {
    if (!byModel.has(r.model)) byModel.set(r.model, new Map());
    byModel.get(r.model)!.set(conditionKey(r.corruption, r.severity), r);
  }
  const names = [...byModel.keys()]; // the server puts the base first
  const rows = names.map((name, i): TableRow => {
    const found = byModel.get(name)!;
    const cells = conditions.map((c) => {
      const r = found.get(c.key);
      return { ...c, accuracy: r?.accuracy ?? null, drop: r?.drop ?? null };
    });
    const drops = cells.filter((c) => c.corruption !== "clean" && c.drop !== null).map((c) => c.drop!);
    const isBase = i === 0;
    return {
      name,
      id: idByName.get(name) ?? null,
      isBase,
      cells,
      meanDrop: isBase || !drops.length ? null : drops.reduce((a, b) => a + b, 0) / drops.length,
    };
  });
  return { conditions, groups, rows };
}

/** The largest |drop| of the compared models (at least 0.01, so tiny drops stay pale). */
export function dropExtent(table: RobustnessTable): number {
  let m = 0.01;
  for (const row of table.rows) {
    if (row.isBase) continue;
    for (const c of row.cells) if (c.drop !== null && Number.isFinite(c.drop)) m = Math.max(m, Math.abs(c.drop));
  }
  return m;
}

/** Red where the model lost accuracy versus the base, blue where it gained, white at zero. */
export function dropColor(extent: number): (drop: number | null) => string {
  // RdBu runs red → blue; a positive drop (worse) maps towards red
  const s = scaleDiverging(interpolateRdBu).domain([extent, 0, -extent]).clamp(true);
  return (drop) => (drop === null || !Number.isFinite(drop) ? "#eeeeee" : s(drop));
}

/** Text colour that stays readable on a cell coloured by `dropColor`. */
export function textColorFor(drop: number | null, extent: number): string {
  return drop !== null && Math.abs(drop) > 0.6 * extent ? "#ffffff" : "#1d1d1f";
}

/** 0.8765 → "87.7%" */
export function formatAccuracy(v: number | null): string {
  return v === null || !Number.isFinite(v) ? "–" : `${(v * 100).toFixed(1)}%`;
}

/** A drop in accuracy points, signed as a change: drop 0.021 → "−2.1 pt" (the model lost). */
export function formatDrop(drop: number | null): string {
  if (drop === null || !Number.isFinite(drop)) return "–";
  const pts = -drop * 100;
  const r = Math.round(pts * 10) / 10;
  if (r === 0) return "±0.0 pt";
  return `${r > 0 ? "+" : "−"}${Math.abs(r).toFixed(1)} pt`;
}

/** "gaussian_noise" → "gaussian noise" */
export function corruptionLabel(name: string): string {
  return name.replaceAll("_", " ");
}

/** Keep a choice's order canonical (as in `all`) whatever order it was ticked in. */
export function toggled<T>(list: readonly T[], value: T, all: readonly T[]): T[] {
  const set = new Set(list);
  if (set.has(value)) set.delete(value);
  else set.add(value);
  return all.filter((v) => set.has(v));
}
