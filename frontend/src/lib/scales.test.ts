import { describe, expect, it } from "vitest";
import { MISSING_COLOR, colorAt, extent, linearPosition, makeColor, makeRadius, quantize, rankPosition } from "./scales";

describe("scales", () => {
  it("extent skips missing values and widens a single value", () => {
    expect(extent([3, null, 1, NaN, 2])).toEqual([1, 3]);
    expect(extent([null])).toBeNull();
    const [lo, hi] = extent([5])!;
    expect(lo).toBeLessThan(5);
    expect(hi).toBeGreaterThan(5);
  });
  it("gives the better end the same colour whatever the direction", () => {
    const up = makeColor([0, 1], "max");
    const down = makeColor([0, 1], "min");
    expect(up(1)).toBe(down(0));
    expect(up(0)).toBe(down(1));
    expect(up(null)).toBe(MISSING_COLOR);
  });
  it("spreads a cluster of close values over most of the colours by rank", () => {
    const values = [0.12, 0.85, 0.86, 0.87, 0.88, 0.9];
    const rank = rankPosition(values, "max");
    expect(rank(0.12)).toBe(0);
    expect(rank(0.85)).toBeCloseTo(0.2);
    expect(rank(0.9)).toBe(1);
    // linear, the same cluster shares the top tenth of the scale
    const linear = linearPosition(values, "max");
    expect(linear(0.9)! - linear(0.85)!).toBeLessThan(0.07);
    expect(rank(0.9)! - rank(0.85)!).toBeGreaterThan(0.75);
    const color = makeColor(values, "max");
    expect(new Set([0.85, 0.86, 0.87, 0.88, 0.9].map(color)).size).toBe(5);
  });
  it("interpolates between ranks, clamps outside them and flips for lower-is-better", () => {
    const rank = rankPosition([0, 10, 20, null], "max");
    expect(rank(5)).toBeCloseTo(0.25);
    expect(rank(-3)).toBe(0);
    expect(rank(99)).toBe(1);
    expect(rank(null)).toBeNull();
    expect(rankPosition([0, 10, 20], "min")(0)).toBe(1);
    expect(rankPosition([4, 4], "max")(4)).toBe(0.5);
    expect(rankPosition([], "max")(4)).toBeNull();
  });
  it("colours a position with viridis, better end yellow, no value grey", () => {
    expect(colorAt(1)).toBe("#fde725");
    expect(colorAt(0)).toBe("#440154");
    expect(colorAt(null)).toBe(MISSING_COLOR);
    expect(makeColor([1, 2], "max", "linear")(1.5)).toBe(colorAt(0.5));
  });
  it("quantizes a position to a few levels", () => {
    expect(quantize(0.49, 4)).toBe(0.5);
    expect(quantize(null)).toBeNull();
  });
  it("sizes by area within the range", () => {
    const r = makeRadius([0, 100], 2, 10);
    expect(r(0)).toBeCloseTo(2);
    expect(r(100)).toBeCloseTo(10);
    expect(r(25)).toBeCloseTo(6);
    expect(r(null)).toBe(2);
  });
});
