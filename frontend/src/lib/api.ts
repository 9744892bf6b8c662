/** Fetching from the API, including long analyses that answer 202 while they run.

The server contract for a long analysis: the same GET answers 202 with
`{"status": "running", "job": ID, "progress": {"done": n, "total": m, "message": s}}` until the
result is ready (computed once, cached in the workspace), then 200 with the result. Errors
answer 4xx with `{"detail": ...}`.
*/

import type { Schemas } from "./schema";

/** The progress of a running analysis: a 202 answer's `progress` (a JobDescription's). */
export type Progress = Schemas["JobProgress"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A readable message from an error answer: FastAPI's `detail` (a string or a list of issues). */
export function errorMessage(status: number, body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const loc = Array.isArray(d?.loc) ? d.loc.filter((x: unknown) => x !== "query").join(".") : "";
        return loc ? `${loc}: ${d?.msg ?? ""}` : String(d?.msg ?? d);
      })
      .join("; ");
  }
  return `the server answered ${status}`;
}

/** A path relative to the page with a query string; undefined/null parameters are left out. */
export function apiUrl(path: string, params: Record<string, string | number | boolean | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET JSON; while the server answers 202, report progress and poll again. */
export async function fetchAnalysis<T>(
  url: string,
  opts: { onProgress?: (p: Progress) => void; signal?: AbortSignal; pollMs?: number } = {},
): Promise<T> {
  let wait = opts.pollMs ?? 300;
  for (;;) {
    const r = await fetch(url, { signal: opts.signal });
    const body = await r.json().catch(() => null);
    if (r.status === 202) {
      const p = (body as { progress?: Progress } | null)?.progress;
      if (p && opts.onProgress) opts.onProgress(p);
      await sleep(wait);
      wait = Math.min(wait * 1.5, 2000);
      continue;
    }
    if (!r.ok) throw new ApiError(r.status, errorMessage(r.status, body));
    return body as T;
  }
}

/** What the server answers for a selector (GET api/select): the models it picks, in its order,
 * and the names of the datasets all of them are evaluated on. The selector language and the
 * shared-dataset rule live in Python only (compresslens.workspace.selectors). */
export type Selection = Schemas["Selection"];

const selections = new Map<string, Promise<Selection>>();

/** The server's Selection for `selector`, asked once per selector while the page lives; an
 * unknown selector rejects with the server's 404 (and is asked again next time). */
export function fetchSelection(selector: string): Promise<Selection> {
  let found = selections.get(selector);
  if (!found) {
    found = fetchAnalysis<Selection>(apiUrl("api/select", { selector }));
    found.catch(() => selections.delete(selector));
    selections.set(selector, found);
  }
  return found;
}
