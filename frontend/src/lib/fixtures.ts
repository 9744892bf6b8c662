import type { ApiModel } from "./types";

/** A tiny hand-made workspace: base -> prune -> finetune, base -> quantize, distill with a teacher. */
export function model(
  id: string,
  op: string | null,
  parents: { id: string; role?: string }[] = [],
  metrics: Record<string, Record<string, number>> = {},
): ApiModel {
  return {
    id,
    name: id,
    operation: op ? { name: op, params: {}, parents } : null,
    metrics,
    tags: [],
  };
}

export const SMALL: ApiModel[] = [
  model("base", null, [], { model: { compressed_bytes: 1000 }, ds: { accuracy: 0.9 } }),
  model("p1", "prune.magnitude", [{ id: "base", role: "parent" }], { model: { compressed_bytes: 500 }, ds: { accuracy: 0.85 } }),
  model("p1ft", "train.finetune", [{ id: "p1", role: "parent" }], { model: { compressed_bytes: 500 }, ds: { accuracy: 0.88 } }),
  model("q1", "quantize.dynamic_int8", [{ id: "base", role: "parent" }], { model: { compressed_bytes: 250 }, ds: { accuracy: 0.89 } }),
  model("st", "train.distill", [{ id: "q1", role: "student" }, { id: "base", role: "teacher" }], { model: { compressed_bytes: 250 } }),
];
