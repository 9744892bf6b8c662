/** Flip-to-layer attribution in the Layers view (issue 14): what a shared link asks for
 * (`lay.attr*` view params), the request URL, and how each module's cell and the one-line
 * summary read. The shapes are Workspace.attribute_flips's (GET/POST /api/attribution). */
import { apiUrl, type JobDescription, type Progress } from "../../lib/api";
import type { Schemas } from "../../lib/schema";

export type AttributionAnswer = Schemas["AttributionAnswer"];
export type AttributionRow = Schemas["AttributionRow"];
export type FlipKind = "correct_to_incorrect" | "any";

/** `lay.attr`'s value for "every class" (any other value names a class, by id or name). */
export const ATTR_ALL_CLASSES = "all";

/** What attribution is asked for: the flips of one class (or all), of which kind, of which
 * model (null: the view's first compared model). */
export interface AttributionRequest {
  class_: string | null;
  flips: FlipKind;
  model: string | null;
}

const FLIP_WORDS: Record<FlipKind, string> = { correct_to_incorrect: "correct → incorrect", any: "changed" };

/** The request a link carries: `lay.attr` (all | class), `lay.attr.flips` (any; default
 * correct → incorrect), `lay.attr.model`; null when the link asks for none. */
export function attributionRequest(params: Record<string, string>): AttributionRequest | null {
  const attr = params["lay.attr"];
  if (!attr) return null;
  return {
    class_: attr === ATTR_ALL_CLASSES ? null : attr,
    flips: params["lay.attr.flips"] === "any" ? "any" : "correct_to_incorrect",
    model: params["lay.attr.model"] || null,
  };
}

/** The view params that ask for `req` ("" drops a param); the inverse of attributionRequest. */
export function attributionParams(req: AttributionRequest | null): Record<string, string> {
  return {
    "lay.attr": req ? (req.class_ ?? ATTR_ALL_CLASSES) : "",
    "lay.attr.flips": req && req.flips !== "correct_to_incorrect" ? req.flips : "",
    "lay.attr.model": req?.model ?? "",
  };
}

/** The flip kind attribution runs on for a drill-down's flip filter: correct → incorrect
 * stays itself; any other filter asks for every changed prediction ("any"). */
export function flipKindFor(filter: string | null | undefined): FlipKind {
  return !filter || filter === "correct_to_incorrect" ? "correct_to_incorrect" : "any";
}

/** The view params of a "Which layers?" link: attribution of `className`'s flips (of the kind
 * the drill-down's `filter` implies) for `model`. */
export function whichLayersParams(className: string, filter: string | null, model: string | null): Record<string, string> {
  return attributionParams({ class_: className, flips: flipKindFor(filter), model });
}

export function attributionUrl(base: string, model: string, dataset: string | null, req: AttributionRequest): string {
  return apiUrl("api/attribution", { base, model, dataset, flips: req.flips, class: req.class_ });
}

/** One module's cell in the "flips undone when restored" column. */
export interface AttributionCell {
  kind: "share" | "unchanged" | "unrestorable";
  /** what the cell shows: "74.6%" (● when in the greedy set), "unchanged" or "—" */
  text: string;
  /** on hover: the counts, or why it was not re-run */
  title: string;
  /** undone share, full precision (null unless kind is "share") */
  share: number | null;
  greedy: boolean;
}

export const GREEDY_MARK = "●";

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Every attributed module's cell, by module name. */
export function attributionCells(answer: AttributionAnswer): Map<string, AttributionCell> {
  const greedy = new Set(answer.greedy.map((s) => s.module));
  const cells = new Map<string, AttributionCell>();
  for (const row of answer.rows) {
    const inGreedy = greedy.has(row.module);
    const mark = inGreedy ? ` ${GREEDY_MARK}` : "";
    if (row.unchanged) {
      cells.set(row.module, { kind: "unchanged", text: "unchanged", title: "holds the base's weights already: restoring it changes nothing", share: null, greedy: inGreedy });
    } else if (!row.restorable) {
      cells.set(row.module, { kind: "unrestorable", text: "—", title: `cannot be restored: ${row.reason ?? "unknown reason"}`, share: null, greedy: inGreedy });
    } else {
      const title =
        `restoring it alone undoes ${row.undone} of ${answer.flips} flips` +
        (row.created ? `; it creates ${row.created} on ${answer.cost.control} unchanged instances` : "");
      cells.set(row.module, { kind: "share", text: `${percent(row.undone_share)}${mark}`, title, share: row.undone_share, greedy: inGreedy });
    }
  }
  return cells;
}

/** The class an answer is about, by name (null: every class). */
export function attributionClass(answer: AttributionAnswer): string | null {
  const c = answer.context.class;
  return c === null || c === undefined ? null : (answer.context.class_names[c] ?? String(c));
}

/** The line above the table: how many flips, of what, and what the greedy set undoes. */
export function attributionSummary(answer: AttributionAnswer, modelName: string): string {
  const kind = FLIP_WORDS[answer.context.flip_kind as FlipKind] ?? answer.context.flip_kind;
  const cls = attributionClass(answer);
  const what = `${answer.flips} ${kind} flip${answer.flips === 1 ? "" : "s"}${cls === null ? "" : ` of class “${cls}”`} of ${modelName}`;
  if (answer.flips === 0) return `${what}: nothing to attribute.`;
  const last = answer.greedy.at(-1);
  if (!last) return `${what}: no restorable module undoes any of them.`;
  const set = answer.greedy.map((s) => s.module).join(", ");
  const reach = answer.reached ? "" : ` (short of the ${percent(answer.target)} target)`;
  return `${what}: restoring ${GREEDY_MARK} ${set} together undoes ${percent(last.cumulative_share)}${reach}.`;
}

/** One attribution request's state in the view (by its URL). */
export type AttributionEntry =
  | { state: "loading"; progress: Progress | null; job?: JobDescription }
  | { state: "ok"; answer: AttributionAnswer }
  | { state: "error"; message: string };
