import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiUrl, errorMessage, fetchAnalysis } from "./api";

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
});
