import { describe, expect, it } from "vitest";
import { binInRange, brushValue, canLog, countInRange, histogram, logBrushValue, orderedRange, pixelOf, snap, suggestsLog, valueAt } from "./histogram";

describe("histogram", () => {
  it("bins finite values, the maximum in the last bin, and counts missing ones", () => {
    const h = histogram([0, 1, 2, 3, 4, 10, null, NaN], 5)!;
    expect([h.lo, h.hi, h.step]).toEqual([0, 10, 2]);
    expect(h.counts).toEqual([2, 2, 1, 0, 1]);
    expect(h.missing).toBe(2);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(6);
  });
  it("pads a constant metric and is null without values", () => {
    const h = histogram([3, 3], 4)!;
    expect(h.lo).toBeLessThan(3);
    expect(h.hi).toBeGreaterThan(3);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(2);
    expect(histogram([null], 4)).toBeNull();
    expect(histogram([1, 2], 0)).toBeNull();
  });
});

describe("brush arithmetic", () => {
  it("maps pixels to values and back, clamping outside the plot", () => {
    expect(valueAt(60, 10, 100, 0, 1)).toBeCloseTo(0.5);
    expect(valueAt(-50, 10, 100, 0, 1)).toBe(0);
    expect(valueAt(500, 10, 100, 0, 1)).toBe(1);
    expect(pixelOf(0.25, 10, 100, 0, 1)).toBeCloseTo(35);
    expect(valueAt(pixelOf(0.7, 10, 100, 0.2, 0.9), 10, 100, 0.2, 0.9)).toBeCloseTo(0.7);
  });
  it("orders a range dragged right to left and rejects non-numbers", () => {
    expect(orderedRange(5, 2)).toEqual([2, 5]);
    expect(orderedRange(2, 5)).toEqual([2, 5]);
    expect(orderedRange(NaN, 5)).toBeNull();
  });
  it("counts values in a closed range, as the store filters", () => {
    expect(countInRange([1, 2, 3, null, 4], [2, 3])).toBe(2);
    expect(countInRange([1, 2], [5, 6])).toBe(0);
  });
  it("highlights the bins that overlap the range", () => {
    const h = histogram([0, 10], 5)!;
    expect([0, 1, 2, 3, 4].map((i) => binInRange(h, i, [3, 5]))).toEqual([false, true, true, false, false]);
  });
});

describe("snap", () => {
  it("rounds to a precision that fits the axis span", () => {
    expect(snap(0.812499997, 0.5, 0.9)).toBe(0.8125);
    expect(snap(123456.7, 0, 400000)).toBe(123500);
    expect(snap(5, 5, 5)).toBe(5);
  });
});

describe("brushValue", () => {
  it("keeps the exact extremes at and past the ends, so no model at the edge is lost", () => {
    expect(brushValue(500, 10, 100, 0.13, 0.90714)).toBe(0.90714);
    expect(brushValue(10, 10, 100, 0.13, 0.90714)).toBe(0.13);
    expect(brushValue(60, 10, 100, 0, 1)).toBe(0.5);
  });
});

describe("log axis", () => {
  it("is suggested for positive metrics spanning orders of magnitude only", () => {
    expect(suggestsLog([19000, 250000, 1690000])).toBe(true);
    expect(suggestsLog([0.13, 0.9])).toBe(false);
    expect(suggestsLog([0, 10, 1e6])).toBe(false);
    expect(suggestsLog([null, 5])).toBe(false);
    expect(canLog([1, 2, null])).toBe(true);
    expect(canLog([0, 2])).toBe(false);
  });
  it("maps pixels to raw values, exact at the ends, 4 digits inside", () => {
    expect(logBrushValue(0, 10, 100, 100, 1e6)).toBe(100);
    expect(logBrushValue(200, 10, 100, 100, 1e6)).toBe(1e6);
    expect(logBrushValue(60, 10, 100, 100, 1e6)).toBe(10000);
    expect(logBrushValue(35, 10, 100, 100, 1e6)).toBe(1000);
  });
});
