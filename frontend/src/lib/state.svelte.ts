/** The one shared store: models, the selection, the base model and the view choices. */
import { untrack } from "svelte";
import type { ApiModel, DatasetInfo } from "./types";
import type { LayoutMode } from "./layout";
import { availableMetrics, defaultMetric, metricValue, parentIds, type MetricInfo } from "./metrics";
import { defaultBase } from "./base";
import { decodeState, encodeState, type ViewState } from "./urlstate";

export type SelectMode = "replace" | "toggle" | "add";

class AppState {
  models = $state.raw<ApiModel[]>([]);
  datasets = $state.raw<DatasetInfo[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);

  selected = $state.raw<string[]>([]);
  base = $state<string | null>(null);
  x = $state("");
  y = $state("");
  color = $state("");
  size = $state("");
  layout = $state<LayoutMode>("operation");
  view = $state("behaviours");
  /** metric key -> [lo, hi]; set by the metric-filter histograms, read by map and scatter */
  filters = $state.raw<Record<string, [number, number]>>({});
  /** views' own shareable choices, e.g. params["pies.baseline"] */
  params = $state.raw<Record<string, string>>({});

  byId = $derived(new Map(this.models.map((m) => [m.id, m])));
  metrics = $derived(availableMetrics(this.models));
  metricByKey = $derived(new Map(this.metrics.map((m) => [m.key, m])));
  selectedSet = $derived(new Set(this.selected));
  /** ids of models that pass every metric filter (all models when no filter is set) */
  passing = $derived.by(() => {
    const entries = Object.entries(this.filters);
    if (!entries.length) return new Set(this.models.map((m) => m.id));
    const out = new Set<string>();
    for (const m of this.models) {
      const ok = entries.every(([key, [lo, hi]]) => {
        const v = metricValue(m, key);
        return v !== null && v >= lo && v <= hi;
      });
      if (ok) out.add(m.id);
    }
    return out;
  });
  children = $derived.by(() => {
    const out = new Map<string, string[]>();
    for (const m of this.models) for (const p of parentIds(m)) out.set(p, [...(out.get(p) ?? []), m.id]);
    return out;
  });

  metric(key: string): MetricInfo | undefined {
    return this.metricByKey.get(key);
  }

  /** Apply the URL's state, then drop unknown ids and fill in defaults once models are known. */
  restore(search: string): void {
    const s = decodeState(search);
    this.selected = s.selected;
    this.base = s.base;
    this.x = s.x;
    this.y = s.y;
    this.color = s.color;
    this.size = s.size;
    this.layout = s.layout;
    this.view = s.view;
    this.filters = s.filters;
    this.params = s.params;
  }

  setModels(models: ApiModel[], datasets: DatasetInfo[]): void {
    this.models = models;
    this.datasets = datasets;
    const ids = new Set(models.map((m) => m.id));
    this.selected = this.selected.filter((id) => ids.has(id));
    if (!this.base || !ids.has(this.base)) this.base = defaultBase(models, this.selected);
    const ms = availableMetrics(models);
    const known = (k: string) => ms.some((m) => m.key === k);
    if (!known(this.x)) this.x = defaultMetric(ms, ["compressed_bytes", "parameters"]);
    if (!known(this.y)) this.y = defaultMetric(ms, ["accuracy"]);
    if (!known(this.color)) this.color = defaultMetric(ms, ["accuracy"]);
    if (!known(this.size)) this.size = defaultMetric(ms, ["compressed_bytes", "parameters"]);
  }

  viewState(): ViewState {
    return {
      selected: this.selected,
      base: this.base,
      x: this.x,
      y: this.y,
      color: this.color,
      size: this.size,
      layout: this.layout,
      view: this.view,
      filters: this.filters,
      params: this.params,
    };
  }

  query(): string {
    return encodeState(this.viewState());
  }

  select(ids: string[], mode: SelectMode = "replace"): void {
    if (mode === "replace") {
      this.selected = [...new Set(ids)];
      return;
    }
    const cur = new Set(this.selected);
    if (mode === "toggle") {
      for (const id of ids) {
        if (cur.has(id)) cur.delete(id);
        else cur.add(id);
      }
    } else {
      for (const id of ids) cur.add(id);
    }
    this.selected = [...cur];
  }

  /** Set (or, with "", drop) a view's shareable choice; a no-op when unchanged. */
  setParam(key: string, value: string): void {
    // read untracked: an effect that writes a choice must not re-run on every other choice
    const current = untrack(() => this.params);
    if ((current[key] ?? "") === value) return;
    const next = { ...current };
    if (value) next[key] = value;
    else delete next[key];
    this.params = next;
  }

  setFilter(key: string, range: [number, number] | null): void {
    const next = { ...this.filters };
    if (range === null) delete next[key];
    else next[key] = range;
    this.filters = next;
  }

  clear(): void {
    this.selected = [];
  }

  /** Grow the selection along provenance: parents, children, all ancestors or descendants. */
  expand(kind: "parents" | "children" | "ancestors" | "descendants"): void {
    const next = new Set(this.selected);
    const step = (id: string): string[] =>
      kind === "parents" || kind === "ancestors"
        ? parentIds(this.byId.get(id)!).filter((p) => this.byId.has(p))
        : this.children.get(id) ?? [];
    let frontier = [...this.selected];
    const transitive = kind === "ancestors" || kind === "descendants";
    while (frontier.length) {
      const fresh: string[] = [];
      for (const id of frontier) {
        for (const n of step(id)) {
          if (!next.has(n)) {
            next.add(n);
            fresh.push(n);
          }
        }
      }
      frontier = transitive ? fresh : [];
    }
    this.selected = [...next];
  }
}

export const app = new AppState();
