import { describe, expect, it } from "vitest";
import {
  agreementCells,
  agreementColor,
  curvePath,
  gradientStops,
  percent,
  reliabilityPoints,
  seriesColor,
  textOn,
  transitionCells,
  transitionColor,
} from "./behaviourCharts";

describe("transition matrix", () => {
  it("scales off-diagonal cells by the largest change, not the diagonal", () => {
    const { cells, max } = transitionCells([
      [90, 4],
      [2, 80],
    ]);
    expect(max).toBe(4);
    expect(cells.map((c) => [c.row, c.col, c.value, c.t, c.diagonal])).toEqual([
      [0, 0, 90, 0, true],
      [0, 1, 4, 1, false],
      [1, 0, 2, 0.5, false],
      [1, 1, 80, 0, true],
    ]);
  });
  it("never divides by zero when nothing changed", () => {
    const { cells, max } = transitionCells([
      [5, 0],
      [0, 5],
    ]);
    expect(max).toBe(1);
    expect(cells[1].t).toBe(0);
  });
  it("colours from light to dark", () => {
    expect(transitionColor(0)).not.toBe(transitionColor(1));
    expect(transitionColor(-3)).toBe(transitionColor(0));
  });
});

describe("agreement matrix", () => {
  it("spans the lowest off-diagonal agreement to 1", () => {
    const { cells, low } = agreementCells([
      [1, 0.9, 0.8],
      [0.9, 1, 0.95],
      [0.8, 0.95, 1],
    ]);
    expect(low).toBe(0.8);
    expect(cells[1].t).toBeCloseTo(0.5);
    expect(cells[2].t).toBe(0);
    expect(cells[0].t).toBe(1);
  });
  it("handles identical models and missing values", () => {
    const { cells, low } = agreementCells([
      [1, null],
      [null, 1],
    ]);
    expect(low).toBe(0.99);
    expect(Number.isNaN(cells[1].value)).toBe(true);
    expect(cells[1].t).toBe(0);
  });
  it("uses viridis ends", () => {
    expect(agreementColor(0)).toBe(agreementColor(-1));
    expect(agreementColor(1)).not.toBe(agreementColor(0));
  });
});

describe("calibration", () => {
  it("keeps non-empty bins as points", () => {
    const points = reliabilityPoints({
      edges: [0, 1 / 3, 2 / 3, 1],
      count: [0, 3, 5],
      accuracy: [null, 0.5, 1],
      mean_confidence: [null, 0.4, 0.9],
    });
    expect(points).toEqual([
      { confidence: 0.4, accuracy: 0.5, count: 3 },
      { confidence: 0.9, accuracy: 1, count: 5 },
    ]);
    expect(reliabilityPoints(undefined)).toEqual([]);
  });
  it("draws a path with y pointing up", () => {
    expect(curvePath([{ confidence: 0, accuracy: 0, count: 1 }, { confidence: 1, accuracy: 1, count: 1 }], 100, 50)).toBe(
      "M0.0,50.0 L100.0,0.0",
    );
    expect(curvePath([], 10, 10)).toBe("");
  });
  it("gives the base its own colour and cycles model colours", () => {
    expect(seriesColor("base")).toBe("#333");
    expect(seriesColor(0)).toBe(seriesColor(8));
    expect(seriesColor(0)).not.toBe(seriesColor(1));
  });
});

describe("helpers", () => {
  it("formats percentages and picks readable text", () => {
    expect(percent(0.1234)).toBe("12.3%");
    expect(percent(null)).toBe("–");
    expect(textOn(0.9)).toBe("#fff");
    expect(textOn(0.1)).toBe("#222");
    expect(gradientStops((t) => `c${t}`, 3)).toBe("c0 0%, c0.5 50%, c1 100%");
  });
});
