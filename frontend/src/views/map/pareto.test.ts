import { describe, expect, it } from "vitest";
import { dominates, paretoFrontier, type Point } from "./pareto";

const P = (id: string, x: number, y: number): Point => ({ id, x, y });

describe("dominates", () => {
  it("needs at least as good on both axes and strictly better on one", () => {
    expect(dominates(P("a", 1, 0.9), P("b", 2, 0.8), "min", "max")).toBe(true);
    expect(dominates(P("a", 1, 0.9), P("b", 1, 0.9), "min", "max")).toBe(false);
    expect(dominates(P("a", 1, 0.7), P("b", 2, 0.8), "min", "max")).toBe(false);
  });
});

describe("paretoFrontier", () => {
  const pts = [P("big", 1000, 0.9), P("mid", 500, 0.88), P("bad", 600, 0.8), P("small", 250, 0.85), P("tiny", 100, 0.5)];

  it("minimizes size and maximizes accuracy", () => {
    expect(paretoFrontier(pts, "min", "max").map((p) => p.id)).toEqual(["tiny", "small", "mid", "big"]);
  });
  it("follows the chosen directions", () => {
    expect(paretoFrontier(pts, "max", "max").map((p) => p.id)).toEqual(["big"]);
    expect(paretoFrontier(pts, "min", "min").map((p) => p.id)).toEqual(["tiny"]);
    expect(paretoFrontier(pts, "max", "min").map((p) => p.id)).toEqual(["tiny", "bad", "big"]);
  });
  it("drops a point with equal x and worse y", () => {
    expect(paretoFrontier([P("a", 1, 0.5), P("b", 1, 0.6)], "min", "max").map((p) => p.id)).toEqual(["b"]);
  });
  it("keeps exact duplicates of a frontier point", () => {
    expect(paretoFrontier([P("a", 1, 0.5), P("b", 1, 0.5)], "min", "max")).toHaveLength(2);
  });
  it("ignores non-finite values and handles empty input", () => {
    expect(paretoFrontier([P("n", NaN, 1), P("a", 1, 1)], "min", "max").map((p) => p.id)).toEqual(["a"]);
    expect(paretoFrontier([], "min", "max")).toEqual([]);
  });
  it("does not mutate its input", () => {
    const copy = pts.map((p) => p.id);
    paretoFrontier(pts, "min", "max");
    expect(pts.map((p) => p.id)).toEqual(copy);
  });
});
