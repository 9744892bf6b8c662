/** Column layout of the provenance DAG: columns by operation or by step (depth). */
import type { ApiModel } from "./types";
import { parentIds, primaryParent } from "./metrics";

export type LayoutMode = "operation" | "step";

export interface Column {
  key: string;
  label: string;
  index: number;
}

export interface NodePos {
  id: string;
  col: number;
  row: number;
  depth: number;
}

export interface Edge {
  source: string;
  target: string;
  role: string;
  op: string;
}

export interface DagLayout {
  columns: Column[];
  nodes: Map<string, NodePos>;
  edges: Edge[];
  rows: number;
}

export const ROOT_COLUMN = "base";

/** Depth = longest path from a root; parents missing from the list are ignored; cycles are broken. */
export function depths(models: ApiModel[]): Map<string, number> {
  const byId = new Map(models.map((m) => [m.id, m]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let d = 0;
    for (const p of parentIds(byId.get(id)!)) {
      if (byId.has(p)) d = Math.max(d, visit(p) + 1);
    }
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const m of models) visit(m.id);
  return depth;
}

/** The column key of a model: its operation name, roots (no parents in the list) in "base". */
export function operationKey(model: ApiModel, hasParents: boolean): string {
  if (!hasParents) return model.operation?.name && model.operation.name.startsWith("train") ? model.operation.name : ROOT_COLUMN;
  return model.operation?.name ?? ROOT_COLUMN;
}

/** Roots in placing order: standalone ones (touching no edge) first, then tree roots, each in list order. */
export function orderRoots(roots: ApiModel[], edges: Edge[]): ApiModel[] {
  const linked = new Set<string>();
  for (const e of edges) {
    linked.add(e.source);
    linked.add(e.target);
  }
  const standalone = roots.filter((r) => !linked.has(r.id));
  return [...standalone, ...roots.filter((r) => linked.has(r.id))];
}

/**
 * Lay out the DAG. Columns: by operation (ordered by the smallest mean depth of the models
 * using it, then name) or by step (depth 0, 1, 2 …). Rows: a depth-first walk of the
 * primary-parent tree where the first child keeps its parent's row and later children take
 * new rows, so chains read left to right and siblings stack below. Standalone models take the
 * first rows.
 */
export function layoutDag(models: ApiModel[], mode: LayoutMode): DagLayout {
  const ids = new Set(models.map((m) => m.id));
  const depth = depths(models);
  const edges: Edge[] = [];
  const children = new Map<string, string[]>();
  const roots: ApiModel[] = [];
  for (const m of models) {
    const parents = (m.operation?.parents ?? []).filter((p) => ids.has(p.id));
    for (const p of parents) {
      edges.push({ source: p.id, target: m.id, role: p.role ?? "parent", op: m.operation?.name ?? "" });
    }
    const main = primaryParent({ ...m, operation: m.operation ? { ...m.operation, parents } : null });
    if (main === null) roots.push(m);
    else children.set(main, [...(children.get(main) ?? []), m.id]);
  }

  // columns
  const colOf = new Map<string, string>();
  let columns: Column[];
  if (mode === "step") {
    const maxDepth = Math.max(0, ...depth.values());
    columns = Array.from({ length: maxDepth + 1 }, (_, i) => ({ key: String(i), label: `step ${i}`, index: i }));
    for (const m of models) colOf.set(m.id, String(depth.get(m.id) ?? 0));
  } else {
    const stats = new Map<string, { sum: number; n: number }>();
    for (const m of models) {
      const hasParents = (m.operation?.parents ?? []).some((p) => ids.has(p.id));
      const key = operationKey(m, hasParents);
      colOf.set(m.id, key);
      const s = stats.get(key) ?? { sum: 0, n: 0 };
      s.sum += depth.get(m.id) ?? 0;
      s.n += 1;
      stats.set(key, s);
    }
    const keys = [...stats.keys()].sort((a, b) => {
      const ma = stats.get(a)!.sum / stats.get(a)!.n;
      const mb = stats.get(b)!.sum / stats.get(b)!.n;
      return ma - mb || a.localeCompare(b);
    });
    columns = keys.map((key, index) => ({ key, label: key, index }));
  }
  const colIndex = new Map(columns.map((c) => [c.key, c.index]));

  // rows
  const byId = new Map(models.map((m) => [m.id, m]));
  const nameOf = (id: string) => byId.get(id)?.name ?? id;
  const nodes = new Map<string, NodePos>();
  let nextRow = 0;
  const place = (id: string, row: number) => {
    if (nodes.has(id)) return;
    nodes.set(id, { id, col: colIndex.get(colOf.get(id)!) ?? 0, row, depth: depth.get(id) ?? 0 });
    const kids = [...(children.get(id) ?? [])].sort((a, b) => {
      const ca = colIndex.get(colOf.get(a)!) ?? 0;
      const cb = colIndex.get(colOf.get(b)!) ?? 0;
      return ca - cb || nameOf(a).localeCompare(nameOf(b));
    });
    kids.forEach((kid, i) => {
      if (i === 0) place(kid, row);
      else place(kid, ++nextRow);
    });
  };
  // standalone models (no edge in or out, e.g. a base nothing was derived from yet) take the
  // top rows, above every tree: left at the end they would sit in the bottom-left corner, where
  // the map's legend and controls are, and far from the columns they belong to
  for (const r of orderRoots(roots, edges)) {
    place(r.id, nodes.size === 0 ? 0 : ++nextRow);
  }
  // anything unreached (cycles) gets its own row
  for (const m of models) if (!nodes.has(m.id)) place(m.id, ++nextRow);
  return { columns, nodes, edges, rows: models.length ? nextRow + 1 : 0 };
}
