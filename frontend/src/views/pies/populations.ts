/**
 * The population structure a workspace has, for the PIE view's defaults and named presets.
 *
 * A seed population is 2+ models made by one operation with the same parameters from the same
 * population (e.g. the 8 seeds trained from scratch; their 8 copies pruned to 80%): the models
 * differ by seed only. A study is a baseline population and the populations made from it —
 * one level, or a sweep whose levels differ in one parameter (magnitude pruning at 50/80/95%).
 * Hooker et al.'s PIEs compare exactly these, so the view starts from a study, not from a
 * selection lumped into one level. Pure: no Svelte, no fetch.
 */
import type { ApiModel } from "../../lib/types";

export interface SeedPopulation {
  /** the operation, its parameters and the parent's population: what the members share */
  key: string;
  parentKey: string;
  op: string;
  params: Record<string, unknown>;
  ids: string[];
  /** distinct seeds among the members */
  seeds: number;
  /** "prune.magnitude amount 0.8, scope global × 8 seeds" */
  label: string;
  /** a selector that picks exactly `ids` (readable where the models allow it) */
  selector: string;
}

export interface Study {
  baseline: SeedPopulation;
  /** the parameter the levels differ in ("" for one level) */
  by: string;
  levels: SeedPopulation[];
  ids: string[];
  label: string;
  selector: string;
}

/** Parameters in a canonical text (key order aside), so equal parameters compare equal. */
function canonical(params: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
}

/** The parent a model was made from: the first that is not a teacher. */
function primaryParent(m: ApiModel): string | null {
  const parents = m.operation?.parents ?? [];
  return (parents.find((p) => p.role !== "teacher") ?? parents[0])?.id ?? null;
}

/** Per model, the key of the population it belongs to (operation, parameters, parent's key). */
export function populationKeys(models: ApiModel[]): Map<string, string> {
  const byId = new Map(models.map((m) => [m.id, m]));
  const keys = new Map<string, string>();
  const keyOf = (m: ApiModel, seen: Set<string>): string => {
    const known = keys.get(m.id);
    if (known !== undefined) return known;
    let key: string;
    if (!m.operation || seen.has(m.id)) key = `model:${m.id}`;
    else {
      const pid = primaryParent(m);
      const parent = pid === null ? undefined : byId.get(pid);
      const parentKey = pid === null ? "" : parent ? keyOf(parent, new Set([...seen, m.id])) : `model:${pid}`;
      key = JSON.stringify([m.operation.name, canonical(m.operation.params ?? {}), parentKey]);
    }
    keys.set(m.id, key);
    return key;
  };
  for (const m of models) keyOf(m, new Set());
  return keys;
}

/** A parameter value a selector can write so that the server reads it back the same
 * (`key=value` compares Python's str(); an integral number may be an int or a float there). */
function writable(value: unknown): value is string | number | boolean {
  if (typeof value === "string") return value !== "" && !/[,&]/.test(value);
  if (typeof value === "number") return Number.isFinite(value) && !Number.isInteger(value);
  return typeof value === "boolean";
}

/**
 * Whether a model matches an `&`-joined selector alternative of `op:`, `tag:` and `key=value`
 * terms: a preview of Workspace.select, used only to check a selector built here (the server
 * still resolves every selector the view sends).
 */
export function previewMatches(m: ApiModel, terms: string[]): boolean {
  return terms.every((t) => {
    if (t.startsWith("op:")) return m.operation?.name === t.slice(3);
    if (t.startsWith("tag:")) return (m.tags ?? []).includes(t.slice(4));
    const [k, v] = [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)];
    const params = m.operation?.params ?? {};
    return k in params && String(params[k]).toLowerCase() === v.toLowerCase();
  });
}

/** The scalar parameters of an operation whose value differs among the workspace's models. */
function varyingParams(models: ApiModel[], op: string): string[] {
  const values = new Map<string, Set<string>>();
  for (const m of models) {
    if (m.operation?.name !== op) continue;
    for (const [k, v] of Object.entries(m.operation.params ?? {})) {
      if (typeof v === "object" && v !== null) continue;
      values.set(k, (values.get(k) ?? new Set()).add(JSON.stringify(v)));
    }
  }
  return [...values].filter(([, vs]) => vs.size > 1).map(([k]) => k).sort();
}

/**
 * The most readable selector that picks exactly `ids`: the operation and its varying
 * parameters, else a tag the models share (alone, then with those terms), else the ids.
 */
export function selectorFor(models: ApiModel[], ids: string[], op: string, params: Record<string, unknown>, leaveOut = ""): string {
  const want = new Set(ids);
  const terms = [
    `op:${op}`,
    ...varyingParams(models, op)
      .filter((k) => k !== leaveOut && writable(params[k]))
      .map((k) => `${k}=${String(params[k])}`),
  ];
  const exact = (t: string[]) => {
    const hit = models.filter((m) => previewMatches(m, t));
    return hit.length === want.size && hit.every((m) => want.has(m.id));
  };
  const members = models.filter((m) => want.has(m.id));
  const count = (tag: string) => models.filter((m) => (m.tags ?? []).includes(tag)).length;
  const shared = [...new Set(members.flatMap((m) => m.tags ?? []))]
    .filter((t) => !/[,&]/.test(t) && members.every((m) => (m.tags ?? []).includes(t)))
    .sort((a, b) => count(a) - count(b) || a.localeCompare(b));
  const candidates = [terms, ...shared.map((t) => [`tag:${t}`]), ...shared.map((t) => [`tag:${t}`, ...terms])];
  return candidates.find(exact)?.join("&") ?? ids.join(",");
}

/** "amount 0.8, scope global": the varying scalar parameters of a population's operation. */
function paramsText(models: ApiModel[], op: string, params: Record<string, unknown>, leaveOut = ""): string {
  return varyingParams(models, op)
    .filter((k) => k !== leaveOut && k in params)
    .map((k) => `${k} ${String(params[k])}`)
    .join(", ");
}

const times = (n: number, seeds: number) => (seeds === n ? `× ${n} seeds` : `× ${n} models`);

/** Every seed population of the workspace (2+ models), in the models' order. */
export function seedPopulations(models: ApiModel[]): SeedPopulation[] {
  const keys = populationKeys(models);
  const groups = new Map<string, ApiModel[]>();
  for (const m of models) if (m.operation) groups.set(keys.get(m.id)!, [...(groups.get(keys.get(m.id)!) ?? []), m]);
  return [...groups]
    .filter(([, ms]) => ms.length >= 2)
    .map(([key, ms]) => {
      const op = ms[0].operation!.name;
      const params = ms[0].operation!.params ?? {};
      const ids = ms.map((m) => m.id);
      const seeds = new Set(ms.map((m) => m.operation!.seed ?? null)).size;
      const what = paramsText(models, op, params);
      return {
        key,
        parentKey: JSON.parse(key)[2] as string,
        op,
        params,
        ids,
        seeds,
        label: `${op}${what ? ` ${what}` : ""} ${times(ids.length, seeds)}`,
        selector: selectorFor(models, ids, op, params),
      };
    });
}

/** Numbers ascending, then text: the order of a sweep's levels. */
function levelOrder(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/** The one parameter a group of populations differs in, or "" (none or several). */
function sweptParam(pops: SeedPopulation[]): string {
  const names = [...new Set(pops.flatMap((p) => Object.keys(p.params)))];
  const varying = names.filter((k) => new Set(pops.map((p) => JSON.stringify(p.params[k] ?? null))).size > 1);
  return varying.length === 1 && pops.every((p) => varying[0] in p.params) ? varying[0] : "";
}

/** Every study: per baseline population, a sweep per operation whose populations differ in
 * one parameter, and a one-level study per other population made from it. */
export function populationStudies(models: ApiModel[]): Study[] {
  const pops = seedPopulations(models);
  const studies: Study[] = [];
  for (const baseline of pops) {
    const children = pops.filter((p) => p.parentKey === baseline.key);
    const byOp = new Map<string, SeedPopulation[]>();
    for (const c of children) byOp.set(c.op, [...(byOp.get(c.op) ?? []), c]);
    for (const [op, group] of byOp) {
      const by = group.length > 1 ? sweptParam(group) : "";
      if (by) {
        const levels = [...group].sort((a, b) => levelOrder(a.params[by], b.params[by]));
        const ids = levels.flatMap((l) => l.ids);
        const sizes = [...new Set(levels.map((l) => l.ids.length))];
        const seeds = sizes.length === 1 && levels.every((l) => l.seeds === l.ids.length) ? `× ${sizes[0]} seeds` : "";
        const what = paramsText(models, op, levels[0].params, by);
        studies.push({
          baseline,
          by,
          levels,
          ids,
          // the values are in the "split by" list and the summary; the name stays short enough for a select
          label: `${op}${what ? ` ${what}` : ""} by ${by}: ${levels.length} levels ${seeds}`.trim(),
          selector: selectorFor(models, ids, op, levels[0].params, by),
        });
      }
      for (const level of by ? [] : group) {
        studies.push({ baseline, by: "", levels: [level], ids: level.ids, label: level.label, selector: level.selector });
      }
    }
  }
  return studies;
}

/** The study to open the view on: the one holding most of the selection, then the one with
 * most levels, then most models; null when the workspace has none. */
export function defaultStudy(studies: Study[], selected: string[]): Study | null {
  const chosen = new Set(selected);
  const score = (s: Study) => [...s.ids, ...s.baseline.ids].filter((id) => chosen.has(id)).length;
  const ranked = [...studies].sort(
    (a, b) => score(b) - score(a) || b.levels.length - a.levels.length || b.ids.length - a.ids.length,
  );
  return ranked[0] ?? null;
}
