import { describe, expect, it } from "vitest";
import { MISSING_COLOR, extent, makeColor, makeRadius } from "./scales";

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
  it("sizes by area within the range", () => {
    const r = makeRadius([0, 100], 2, 10);
    expect(r(0)).toBeCloseTo(2);
    expect(r(100)).toBeCloseTo(10);
    expect(r(25)).toBeCloseTo(6);
    expect(r(null)).toBe(2);
  });
});
