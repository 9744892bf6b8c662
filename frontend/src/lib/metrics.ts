/** Metric extraction from API model records: keys are "<group>/<name>" (group: "model" or a dataset). */
import type { ApiModel } from "./types";

export type Direction = "max" | "min";

/** Where a metric is listed: one section per dataset, the model's own figures, robustness last. */
export type MetricSection = "dataset" | "model" | "robustness";

export interface MetricInfo {
  key: string;
  group: string;
  name: string;
  label: string;
  direction: Direction;
  section: MetricSection;
}

const LABELS: Record<string, string> = {
  accuracy: "Top-1 accuracy",
  top5_accuracy: "Top-5 accuracy",
  loss: "Loss",
  ece: "ECE",
  parameters: "Parameters",
  nonzero_parameters: "Non-zero parameters",
  sparsity: "Sparsity",
  dense_bytes: "Dense size (bytes)",
  compressed_bytes: "Compressed size (bytes)",
  disk_bytes: "Size on disk (bytes)",
  macs: "MACs",
  bitops: "Bit-ops",
  latency_ms_b1: "Latency ms (batch 1)",
  latency_ms_b64: "Latency ms (batch 64)",
  // a causal LM on a token dataset (the comparison is against the lineage root)
  perplexity: "Perplexity",
  token_accuracy: "Token accuracy (top-1)",
  mean_loss: "Mean loss (nats/token)",
  kld_mean: "KLD mean vs root",
  kld_median: "KLD median vs root",
  kld_p90: "KLD p90 vs root",
  kld_p99: "KLD p99 vs root",
  kld_p999: "KLD p99.9 vs root",
  kld_max: "KLD max vs root",
  same_top: "Same top-1 token rate",
  correct_to_incorrect: "Tokens correct→incorrect",
  correct_to_incorrect_rate: "Rate correct→incorrect",
  incorrect_to_correct: "Tokens incorrect→correct",
  incorrect_to_correct_rate: "Rate incorrect→correct",
  delta_p_mean: "Δp true token, mean",
  // any model against its lineage root on the same dataset (workspace/behaviour_metrics.py)
  negative_flip_rate: "Negative flip rate vs root",
  positive_flip_rate: "Positive flip rate vs root",
  worst_class_change: "Worst class Δ accuracy vs root",
};

const MAXIMIZE = new Set([
  "accuracy", "top5_accuracy", "sparsity", "f1", "precision", "recall", "auc",
  "same_top", "incorrect_to_correct", "incorrect_to_correct_rate",
  "positive_flip_rate", "worst_class_change",
]);

/** Better direction of a metric: accuracy-like metrics go up, costs go down; Δp (the model's
 * minus the base's probability of the true token) goes up. */
export function directionOf(name: string): Direction {
  return MAXIMIZE.has(name) || name.endsWith("accuracy") || name.startsWith("delta_p_") || isRobustMean(name) ? "max" : "min";
}

/* Robustness sweeps store one accuracy per condition as `robust:<corruption>@<severity>#n<N>s<seed>`
 * (compresslens.workspace.robustness): dozens per sweep, which would flood every metric list.
 * The lists offer one derived metric per run (dataset + `#n…s…`) instead, `robust:mean#n…s…`,
 * whose value is the mean over the run's corrupted conditions (clean excluded); the per-condition
 * table stays in the Robustness view. */
const ROBUST_CONDITION = /^robust:(.+)@(\d+)(#.*)?$/;
const ROBUST_MEAN = /^robust:mean(#.*)?$/;
const ROBUST_MEAN_LABEL = "Robust accuracy (mean over conditions)";

/** Whether a stored metric is one robustness condition (listed only through its run's mean). */
export function isRobustCondition(name: string): boolean {
  return ROBUST_CONDITION.test(name) && !ROBUST_MEAN.test(name);
}

/** Whether a metric name is a robustness run's derived mean. */
export function isRobustMean(name: string): boolean {
  return ROBUST_MEAN.test(name);
}

/** The derived mean's name for the run a condition belongs to: "robust:mean#n200s0". */
export function robustMeanName(conditionName: string): string {
  const m = ROBUST_CONDITION.exec(conditionName);
  return `robust:mean${m?.[3] ?? ""}`;
}

/** A run's `#n<N>s<seed>` suffix in words: "200 instances, seed 0" (the raw suffix otherwise). */
export function describeRun(suffix: string): string {
  const m = /^#n(\d+)s(\d+)$/.exec(suffix);
  return m ? `${m[1]} instances, seed ${m[2]}` : suffix.replace(/^#/, "");
}

/** The mean accuracy over a run's corrupted conditions stored in one dataset's metrics, or null
 * when the model has none of them. */
export function robustMean(values: Record<string, unknown> | undefined, meanName: string): number | null {
  const suffix = ROBUST_MEAN.exec(meanName)?.[1] ?? "";
  let sum = 0;
  let n = 0;
  for (const [name, v] of Object.entries(values ?? {})) {
    const m = ROBUST_CONDITION.exec(name);
    if (!m || m[1] === "clean" || (m[3] ?? "") !== suffix || ROBUST_MEAN.test(name)) continue;
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    sum += v;
    n += 1;
  }
  return n ? sum / n : null;
}

/** A metric's readable name: known ones by name, Δp percentiles as "Δp true token, p5". */
export function metricLabel(name: string): string {
  const known = LABELS[name];
  if (known) return known;
  const delta = /^delta_p_(.+)$/.exec(name);
  if (delta) return `Δp true token, ${delta[1]}`;
  return name.replace(/_/g, " ");
}

export function metricKey(group: string, name: string): string {
  return `${group}/${name}`;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return i < 0 ? ["model", key] : [key.slice(0, i), key.slice(i + 1)];
}

/** The value of a metric for a model, or null when missing or not a finite number. */
export function metricValue(model: ApiModel, key: string): number | null {
  const [group, name] = splitKey(key);
  if (isRobustMean(name)) return robustMean(model.metrics?.[group] ?? undefined, name);
  const v = model.metrics?.[group]?.[name];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Every numeric metric present in at least one model: each dataset's metrics, then the model's
 * own, then one robustness mean per run (never the per-condition results). */
export function availableMetrics(models: ApiModel[]): MetricInfo[] {
  const seen = new Map<string, MetricInfo>();
  const runs = new Map<string, { group: string; name: string }>();
  for (const m of models) {
    for (const [group, values] of Object.entries(m.metrics ?? {})) {
      for (const [name, v] of Object.entries(values ?? {})) {
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        if (isRobustCondition(name)) {
          const mean = robustMeanName(name);
          if (!name.startsWith("robust:clean@")) runs.set(metricKey(group, mean), { group, name: mean });
          continue;
        }
        const key = metricKey(group, name);
        if (seen.has(key)) continue;
        const base = metricLabel(name);
        seen.set(key, {
          key,
          group,
          name,
          label: group === "model" ? base : `${base} · ${group}`,
          direction: directionOf(name),
          section: group === "model" ? "model" : "dataset",
        });
      }
    }
  }
  const plain = [...seen.values()].sort((a, b) => {
    const ga = a.group === "model" ? 1 : 0;
    const gb = b.group === "model" ? 1 : 0;
    return ga - gb || a.group.localeCompare(b.group) || 0;
  });
  return [...plain, ...robustnessMetrics([...runs.entries()])];
}

/** One metric per robustness run, named by its dataset and, when several runs share a dataset,
 * by their instance count and seed. */
function robustnessMetrics(runs: [string, { group: string; name: string }][]): MetricInfo[] {
  const perGroup = new Map<string, number>();
  for (const [, r] of runs) perGroup.set(r.group, (perGroup.get(r.group) ?? 0) + 1);
  return runs
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, { group, name }]) => {
      const suffix = ROBUST_MEAN.exec(name)?.[1] ?? "";
      const run = (perGroup.get(group) ?? 0) > 1 && suffix ? ` (${describeRun(suffix)})` : "";
      return { key, group, name, label: `${ROBUST_MEAN_LABEL} · ${group}${run}`, direction: "max", section: "robustness" };
    });
}

export interface MetricGroup {
  label: string;
  metrics: MetricInfo[];
}

/** The metrics as a metric list shows them (optgroups, checkbox groups): one group per
 * dataset, the model's own figures, robustness last; the order of `metrics` is kept within. */
export function metricGroups(metrics: MetricInfo[]): MetricGroup[] {
  const groups = new Map<string, MetricGroup>();
  const labelOf = (m: MetricInfo) =>
    m.section === "robustness" ? "Robustness" : m.section === "model" ? "Model: size and speed" : `Dataset: ${m.group}`;
  const rank = (m: MetricInfo) => (m.section === "robustness" ? 2 : m.section === "model" ? 1 : 0);
  for (const m of [...metrics].sort((a, b) => rank(a) - rank(b))) {
    const label = labelOf(m);
    if (!groups.has(label)) groups.set(label, { label, metrics: [] });
    groups.get(label)!.metrics.push(m);
  }
  return [...groups.values()];
}

/** Default metric choices: accuracy on the first dataset, compressed size. */
export function defaultMetric(metrics: MetricInfo[], prefer: string[]): string {
  for (const name of prefer) {
    const hit = metrics.find((m) => m.name === name);
    if (hit) return hit.key;
  }
  return metrics[0]?.key ?? "";
}

/** Short human formatting: 424056 -> "424k", 0.8754 -> "0.875", a latency of 0.2736 ms ->
 * "0.274", 1e-4 -> "1.0e-4": three significant digits below 1, so a small value never reads "0". */
export function formatValue(v: number | null | undefined, name = ""): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if ((name.endsWith("accuracy") || name === "sparsity" || isRobustMean(name)) && a >= 0.001) return v.toFixed(3);
  if (a < 0.01) return v.toExponential(1);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Signed change versus a parent, with the relative change for size-like metrics. */
export function formatDelta(child: number | null, parent: number | null, name = ""): string {
  if (child === null || parent === null) return "–";
  const d = child - parent;
  const sign = d > 0 ? "+" : d < 0 ? "−" : "±";
  const abs = formatValue(Math.abs(d), name);
  if (parent !== 0 && !name.endsWith("accuracy")) {
    const rel = (d / Math.abs(parent)) * 100;
    return `${sign}${abs} (${rel > 0 ? "+" : ""}${rel.toFixed(1)}%)`;
  }
  return `${sign}${abs}`;
}

/** The parent ids of a model, in the order the operation lists them. */
export function parentIds(model: ApiModel): string[] {
  return (model.operation?.parents ?? []).map((p) => p.id);
}

/** The parent that the model was derived from (the non-teacher one when there are several). */
export function primaryParent(model: ApiModel): string | null {
  const parents = model.operation?.parents ?? [];
  if (parents.length === 0) return null;
  const main = parents.find((p) => p.role !== "teacher") ?? parents[0];
  return main.id;
}

/** The model, its primary parent, that one's, … up to a root (a cycle or unknown id stops it). */
export function primaryLineage(id: string, byId: Map<string, ApiModel>): string[] {
  const out: string[] = [];
  let cur: string | null = id;
  while (cur !== null && byId.has(cur) && !out.includes(cur)) {
    out.push(cur);
    cur = primaryParent(byId.get(cur)!);
  }
  return out;
}

/** Whether `ancestor` is reachable from `id` through any parents (teachers included). */
export function isAncestor(ancestor: string, id: string, byId: Map<string, ApiModel>): boolean {
  const seen = new Set<string>();
  let frontier = parentIds(byId.get(id) ?? ({} as ApiModel));
  while (frontier.length) {
    const next: string[] = [];
    for (const p of frontier) {
      if (p === ancestor) return true;
      if (seen.has(p)) continue;
      seen.add(p);
      const m = byId.get(p);
      if (m) next.push(...parentIds(m));
    }
    frontier = next;
  }
  return false;
}

/** A better base to offer when the current one is unrelated to the selection.
 *
 * The base (the default, or one the user chose) may be another family than the models the user
 * then selects, so the Behaviours and Layers views would compare across architectures. When the
 * base is not an ancestor of ANY selected model, this answers the selection's nearest shared
 * ancestor along primary parents (a selected model itself when it is the others' ancestor; for
 * one selected model, its parent), so that one click can make it the base. Null when the base is
 * fine, nothing else is selected, or the models share no ancestor. Never applied silently. */
export function suggestedBase(selected: string[], base: string | null, byId: Map<string, ApiModel>): string | null {
  const others = [...new Set(selected)].filter((id) => id !== base && byId.has(id));
  if (!others.length) return null;
  if (base !== null && others.some((id) => isAncestor(base, id, byId))) return null;
  const lines = others.map((id) => primaryLineage(id, byId));
  let shared = lines[0].find((a) => lines.every((l) => l.includes(a))) ?? null;
  // the shared ancestor must leave something to compare with it
  if (shared !== null && others.length === 1 && shared === others[0]) shared = lines[0][1] ?? null;
  return shared !== null && shared !== base ? shared : null;
}
