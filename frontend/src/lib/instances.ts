/** Showing one dataset instance in a gallery: a thumbnail for image data, the text itself for
 * text data (GET /api/datasets/{key}/instances/{index} answers a PNG or an InstanceText). */
import { ApiError, errorMessage } from "./api";
import type { components } from "./api-types";
import type { DatasetInfo } from "./types";

export type PreviewKind = "image" | "text" | "none";

/** How an instance is shown: images as thumbnails, texts as text, other (tabular) data not at
 * all; a dataset of unknown modality is taken for images, as before the API sent it. */
export function previewKind(modality: string | null | undefined): PreviewKind {
  if (modality === "text") return "text";
  if (modality === "image" || modality === null || modality === undefined) return "image";
  return "none";
}

/** The dataset a key names: its id, or its name (metric groups and PIE answers use names). */
export function datasetByKey(datasets: DatasetInfo[], key: string | null | undefined): DatasetInfo | undefined {
  if (!key) return undefined;
  return datasets.find((d) => d.id === key) ?? datasets.find((d) => d.name === key);
}

/** The instance's address under the page (the dataset by id or name). */
export function instanceUrl(dataset: string, index: number): string {
  return `api/datasets/${encodeURIComponent(dataset)}/instances/${index}`;
}

/** GET /api/datasets/{key}/instances/{index} for a text dataset. */
export type InstanceText = components["schemas"]["InstanceText"];

/** The text of an InstanceText answer; an error when the answer holds none. */
export function textOf(body: unknown): string {
  const text = (body as Partial<InstanceText> | null)?.text;
  if (typeof text !== "string") throw new Error("the server answered no text for this instance");
  return text;
}

/** Texts fetched in this page, by address: a gallery shown again does not fetch them again. */
const MAX_TEXTS = 1000;
const texts = new Map<string, Promise<string>>();

/** One instance's text, fetched once; a failed fetch is forgotten, so the next view retries. */
export function loadInstanceText(dataset: string, index: number, get: typeof fetch = fetch): Promise<string> {
  const url = instanceUrl(dataset, index);
  const known = texts.get(url);
  if (known) return known;
  const loading = get(url).then(async (r) => {
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, errorMessage(r.status, body));
    return textOf(body);
  });
  loading.catch(() => texts.delete(url));
  if (texts.size >= MAX_TEXTS) texts.delete(texts.keys().next().value!);
  texts.set(url, loading);
  return loading;
}
