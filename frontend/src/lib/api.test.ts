import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiUrl, cancelJob, errorMessage, fetchAnalysis, JobCancelledError } from "./api";

const answer = (status: number, body: unknown) =>
  ({ status, ok: status >= 200 && status < 300, json: async () => body }) as Response;

describe("api helpers", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("builds query strings without empty parameters", () => {
    expect(apiUrl("api/x", { a: "1", b: null, c: undefined, d: 0, e: "" })).toBe("api/x?a=1&d=0");
    expect(apiUrl("api/x")).toBe("api/x");
  });
  it("reads FastAPI details", () => {
    expect(errorMessage(404, { detail: "no model 'q'" })).toBe("no model 'q'");
    expect(errorMessage(422, { detail: [{ loc: ["query", "limit"], msg: "too big" }] })).toBe("limit: too big");
    expect(errorMessage(500, null)).toBe("the server answered 500");
  });
  it("polls while the server answers 202 and reports progress", async () => {
    const replies = [
      answer(202, { status: "running", job: "j", progress: { done: 1, total: 3 } }),
      answer(202, { status: "running", job: "j", progress: { done: 2, total: 3 } }),
      answer(200, { rows: [1] }),
    ];
    vi.stubGlobal("fetch", vi.fn(async () => replies.shift()!));
    const seen: number[] = [];
    const out = await fetchAnalysis<{ rows: number[] }>("api/r", { onProgress: (p) => seen.push(p.done), pollMs: 1 });
    expect(out.rows).toEqual([1]);
    expect(seen).toEqual([1, 2]);
  });
  it("throws an ApiError with the detail on 4xx", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => answer(400, { detail: "bad" })));
    await expect(fetchAnalysis("api/r")).rejects.toEqual(new ApiError(400, "bad"));
  });
  it("starts a long analysis not computed yet with one POST, then polls with GET", async () => {
    const replies = [
      answer(409, { detail: "not computed; POST the same URL to start it", code: "not_computed" }),
      answer(202, { status: "running", job: "job-7", progress: { done: 0, total: 2, message: "m" } }),
      answer(202, { status: "running", job: "job-7", progress: { done: 1, total: 2, message: "m" } }),
      answer(200, { rows: [2] }),
    ];
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => replies.shift()!);
    vi.stubGlobal("fetch", fetchMock);
    const jobs: string[] = [];
    const out = await fetchAnalysis<{ rows: number[] }>("api/r?x=1", { onProgress: (_p, job) => jobs.push(job.job), pollMs: 1 });
    expect(out.rows).toEqual([2]);
    expect(fetchMock.mock.calls.map(([u, init]) => `${init?.method ?? "GET"} ${u}`)).toEqual([
      "GET api/r?x=1",
      "POST api/r?x=1",
      "GET api/r?x=1",
      "GET api/r?x=1",
    ]);
    expect(jobs).toEqual(["job-7", "job-7"]);
  });
  it("posts once: a second not-computed answer is an error, not a loop", async () => {
    const replies = [answer(409, { detail: "x", code: "not_computed" }), answer(409, { detail: "still not", code: "not_computed" })];
    vi.stubGlobal("fetch", vi.fn(async () => replies.shift()!));
    await expect(fetchAnalysis("api/r")).rejects.toEqual(new ApiError(409, "still not"));
  });
  it("rejects with JobCancelledError when the job it followed disappears", async () => {
    const replies = [
      answer(202, { status: "running", job: "j", progress: { done: 1, total: 3, message: "" } }),
      answer(409, { detail: "not computed", code: "not_computed" }),
    ];
    vi.stubGlobal("fetch", vi.fn(async () => replies.shift()!));
    await expect(fetchAnalysis("api/r", { pollMs: 1 })).rejects.toBeInstanceOf(JobCancelledError);
  });
  it("reports a full job queue (429) with the server's message", async () => {
    const replies = [answer(409, { detail: "x", code: "not_computed" }), answer(429, { detail: "8 analysis jobs are queued", code: "queue_full" })];
    vi.stubGlobal("fetch", vi.fn(async () => replies.shift()!));
    await expect(fetchAnalysis("api/r")).rejects.toEqual(new ApiError(429, "8 analysis jobs are queued"));
  });
  it("cancels a job with DELETE api/jobs/ID; an already finished job is no error", async () => {
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => answer(404, { detail: "no job" }));
    vi.stubGlobal("fetch", fetchMock);
    await cancelJob("job-3");
    expect(fetchMock.mock.calls[0][0]).toBe("api/jobs/job-3");
    expect(fetchMock.mock.calls[0][1]?.method).toBe("DELETE");
  });
  it("with start, POSTs first (no 409 on the way) and polls with GET", async () => {
    const replies = [
      answer(202, { status: "running", job: "job-8", progress: { done: 0, total: 1, message: "" } }),
      answer(200, { rows: [3] }),
    ];
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => replies.shift()!);
    vi.stubGlobal("fetch", fetchMock);
    const out = await fetchAnalysis<{ rows: number[] }>("api/r", { start: true, pollMs: 1 });
    expect(out.rows).toEqual([3]);
    expect(fetchMock.mock.calls.map(([, init]) => init?.method ?? "GET")).toEqual(["POST", "GET"]);
  });
});
