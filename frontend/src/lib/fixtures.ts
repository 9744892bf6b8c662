import type { ApiModel, DatasetInfo } from "./types";

/** A model as GET /api/models answers it: the fields a test names, the rest empty. */
export function apiModel(fields: Pick<ApiModel, "id"> & Partial<ApiModel>): ApiModel {
  return {
    name: fields.id,
    source: "derived",
    status: "ready",
    operation: null,
    efficiency: {},
    metrics: {},
    tags: [],
    notes: [],
    created_at: "2024-01-01T00:00:00",
    ...fields,
  };
}

/** A dataset as GET /api/datasets answers it: the fields a test names, the rest empty. */
export function datasetInfo(fields: Pick<DatasetInfo, "id" | "name"> & Partial<DatasetInfo>): DatasetInfo {
  return {
    modality: "image",
    num_instances: 0,
    num_classes: 0,
    class_names: [],
    input_shape: [],
    input_dtype: "float32",
    attribute_names: [],
    content_hash: "",
    description: "",
    ...fields,
  };
}

/** A tiny hand-made workspace: base -> prune -> finetune, base -> quantize, distill with a teacher. */
export function model(
  id: string,
  op: string | null,
  parents: { id: string; role?: string }[] = [],
  metrics: Record<string, Record<string, number>> = {},
): ApiModel {
  return apiModel({ id, operation: op ? { name: op, params: {}, parents } : null, metrics });
}

export const SMALL: ApiModel[] = [
  model("base", null, [], { model: { compressed_bytes: 1000 }, ds: { accuracy: 0.9 } }),
  model("p1", "prune.magnitude", [{ id: "base", role: "parent" }], { model: { compressed_bytes: 500 }, ds: { accuracy: 0.85 } }),
  model("p1ft", "train.finetune", [{ id: "p1", role: "parent" }], { model: { compressed_bytes: 500 }, ds: { accuracy: 0.88 } }),
  model("q1", "quantize.dynamic_int8", [{ id: "base", role: "parent" }], { model: { compressed_bytes: 250 }, ds: { accuracy: 0.89 } }),
  model("st", "train.distill", [{ id: "q1", role: "student" }, { id: "base", role: "teacher" }], { model: { compressed_bytes: 250 } }),
];
