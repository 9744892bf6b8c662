/** Fetching from the API, including long analyses that run as server jobs.

The server contract for a long analysis (compresslens.server.jobs): a GET never starts work.
It answers 200 with the stored result; 202 with
`{"status": "running", "job": ID, "progress": {"done": n, "total": m, "message": s}, ...}` while
a job runs; otherwise 409 `{"code": "not_computed"}`. A POST of the same URL starts the job (or
joins the one under way) and answers 202, or 429 when the server's job queue is full.
DELETE api/jobs/ID cancels a job. Errors answer 4xx with `{"detail": ...}`. A 202 also says what
runs before the job (`ahead`, with each one's time left) and the job's own `estimate_s`;
lib/jobs.ts words them and lib/JobProgress.svelte shows them.
*/

import type { Schemas } from "./schema";

/** The progress of a running analysis: a 202 answer's `progress` (a JobDescription's). */
export type Progress = Schemas["JobProgress"];
/** A running analysis job: a 202 answer (its id is what cancelJob takes). */
export type JobDescription = Schemas["JobDescription"];

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

/** The job this analysis waited for was cancelled (DELETE api/jobs/ID) before it finished. */
export class JobCancelledError extends ApiError {
  constructor() {
    super(409, "the analysis was cancelled");
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const notComputed = (status: number, body: unknown) =>
  status === 409 && (body as { code?: unknown } | null)?.code === "not_computed";

/** GET JSON — or, with `start`, POST to start a long analysis (answered 200 at once when it is
 * stored). A long analysis not computed yet (409 not_computed) is started by one POST of the
 * same URL too; while the server answers 202, report progress (with the job, to cancel it) and
 * poll with GET. A job that disappears before answering was cancelled: JobCancelledError. */
export async function fetchAnalysis<T>(
  url: string,
  opts: {
    onProgress?: (p: Progress, job: JobDescription) => void;
    signal?: AbortSignal;
    pollMs?: number;
    start?: boolean;
  } = {},
): Promise<T> {
  let wait = opts.pollMs ?? 300;
  let method: "GET" | "POST" = opts.start ? "POST" : "GET";
  let posted = method === "POST";
  let sawJob = false;
  for (;;) {
    const r = await fetch(url, method === "GET" ? { signal: opts.signal } : { method, signal: opts.signal });
    const body = await r.json().catch(() => null);
    method = "GET";
    if (r.status === 202) {
      sawJob = true;
      const job = body as JobDescription | null;
      if (job?.progress && opts.onProgress) opts.onProgress(job.progress, job);
      await sleep(wait);
      wait = Math.min(wait * 1.5, 2000);
      continue;
    }
    if (notComputed(r.status, body)) {
      if (sawJob) throw new JobCancelledError();
      if (!posted) {
        posted = true;
        method = "POST";
        continue;
      }
    }
    if (!r.ok) throw new ApiError(r.status, errorMessage(r.status, body));
    return body as T;
  }
}

/** Cancel a job (DELETE api/jobs/ID): a queued one is dropped, a running one stops at its next
 * progress report; the fetchAnalysis waiting for it then rejects with JobCancelledError. A job
 * that has already finished (404) is no error. */
export async function cancelJob(job: string): Promise<void> {
  const r = await fetch(`api/jobs/${encodeURIComponent(job)}`, { method: "DELETE" });
  if (!r.ok && r.status !== 404) {
    throw new ApiError(r.status, errorMessage(r.status, await r.json().catch(() => null)));
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
