/** The shapes returned by GET /api/models (only the fields the UI reads). */
export interface ParentRef {
  id: string;
  role?: string;
}

export interface Operation {
  name: string;
  params?: Record<string, unknown>;
  parents?: ParentRef[];
  seed?: number | null;
}

// TODO(api-types): no response model yet (GET /api/models)
export interface ApiModel {
  id: string;
  name: string;
  source?: string;
  status?: string;
  operation: Operation | null;
  efficiency?: Record<string, unknown> | null;
  metrics?: Record<string, Record<string, number | null | undefined>> | null;
  tags?: string[];
}

// TODO(api-types): no response model yet (GET /api/datasets)
export interface DatasetInfo {
  id: string;
  name: string;
  modality?: string;
  num_instances?: number;
  num_classes?: number;
}
