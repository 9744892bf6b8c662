/** The answers of GET /api/models and GET /api/datasets, as the generated schema types them. */
import type { Refine, Schemas } from "./schema";

export interface ParentRef {
  id: string;
  role?: string;
}

/** The edge that produced a model (`ModelDescription.operation`, a `dict[str, Any]` on the
 * server): the fields the UI reads. */
export interface Operation {
  name: string;
  params?: Record<string, unknown>;
  parents?: ParentRef[];
  seed?: number | null;
}

/** One model of GET /api/models, its `operation` refined (the server types it `dict[str, Any]`). */
export type ApiModel = Refine<Schemas["ModelDescription"], { operation: Operation | null }>;

/** One dataset of GET /api/datasets. */
export type DatasetInfo = Schemas["DatasetDescription"];
