import { describe, expect, it } from "vitest";
import {
  classColor,
  classRows,
  defaultFocus,
  delta,
  edgeIndices,
  fitPoints,
  fitTransform,
  fmt,
  fmtDelta,
  lineSegments,
  mapModelIds,
  occlusionCells,
  paddedExtent,
  pathOf,
  quantileBox,
  spreadLabels,
  stepPoints,
  symmetricBound,
  type GeometryAnswer,
  type PartSummary,
} from "./geometry";
import { apiModel, datasetInfo } from "../../lib/fixtures";
import type { ApiModel, DatasetInfo } from "../../lib/types";

const summary = (mean: (number | null)[]): PartSummary => ({
  mean,
  sd: mean,
  q05: mean,
  q25: mean,
  q50: mean,
  q75: mean,
  q95: mean,
});

const answer = (withBase: boolean): GeometryAnswer => ({
  model: "m",
  dataset: "d",
  class_names: ["cat", "dog", "emu"],
  per_class: { count: [5, 0, 7], angle: summary([1.1, null, 1.3]), length: summary([20, null, 30]), margin: summary([2, null, -1]) },
  ...(withBase
    ? { base: { name: "b", per_class: { count: [5, 0, 7], angle: summary([1.0, null, 1.4]), length: summary([25, null, 35]), margin: summary([3, null, 1]) } } }
    : {}),
});

describe("model choice", () => {
  const model = (id: string, datasets: string[]): ApiModel =>
    apiModel({ id, metrics: Object.fromEntries(datasets.map((d) => [d, { accuracy: 0.9 }])) });
  const ds = (name: string): DatasetInfo => datasetInfo({ id: `id-${name}`, name });

  it("puts the base first on the map, without repeats", () => {
    expect(mapModelIds("b", ["x", "b", "y", "x"])).toEqual(["b", "x", "y"]);
    expect(mapModelIds(null, ["x"])).toEqual(["x"]);
  });

  it("focuses the first selected model that is not the base", () => {
    expect(defaultFocus(["b", "x", "y"], "b")).toBe("x");
    expect(defaultFocus(["b"], "b")).toBe("b");
    expect(defaultFocus([], null)).toBeNull();
  });
});

describe("per-class rows", () => {
  it("pairs each class's model means with the base's", () => {
    const rows = classRows(answer(true));
    expect(rows.map((r) => r.name)).toEqual(["cat", "dog", "emu"]);
    expect(rows[0]).toMatchObject({ angle: 1.1, baseAngle: 1.0, length: 20, baseLength: 25, count: 5 });
    expect(rows[1].angle).toBeNull();
    expect(delta(rows[2].angle, rows[2].baseAngle)).toBeCloseTo(-0.1, 12);
    expect(delta(rows[1].angle, rows[1].baseAngle)).toBeNull();
  });

  it("has no base values without a base", () => {
    expect(classRows(answer(false)).every((r) => r.baseAngle === null && r.baseLength === null)).toBe(true);
  });
});

describe("map layout", () => {
  it("keeps one unit equally long on both axes, centred, y up", () => {
    const pts = fitPoints([[0, 0], [10, 0], [0, 5]], 220, 120, 10);
    // x span 10 over 200 px and y span 5 over 100 px: both 20 px per unit
    expect(pts[1][0] - pts[0][0]).toBeCloseTo(200);
    expect(pts[0][1] - pts[2][1]).toBeCloseTo(100);
    expect((pts[0][0] + pts[1][0]) / 2).toBeCloseTo(110);
  });

  it("places a single model in the middle", () => {
    expect(fitPoints([[3, 4]], 100, 80)).toEqual([[50, 40]]);
    expect(fitPoints([], 100, 80)).toEqual([]);
  });

  it("frames the bulk of the points, leaving outliers out", () => {
    const pts: [number, number][] = [[0, 0], [1, 1], [2, 2], [3, 3], [100, 50]];
    expect(quantileBox(pts, 0)).toEqual([0, 0, 100, 50]);
    const box = quantileBox(pts, 0.25);
    expect(box).toEqual([1, 1, 3, 3]);
    const t = fitTransform(box, 200, 100, 10);
    // 80 px of height for 2 units: k = 40, and the box's centre (2, 2) lands in the middle
    expect(t.k).toBe(40);
    expect([t.k * 2 + t.x, t.k * 2 + t.y]).toEqual([100, 50]);
    expect(fitTransform([5, 5, 5, 5], 200, 100).k).toBe(60);
    expect(fitTransform([0, 0, 1000, 1000], 200, 100).k).toBe(1);
  });

  it("turns tree edges between names into index pairs", () => {
    const edges = edgeIndices({
      models: [{ id: "1", name: "a" }, { id: "2", name: "b" }, { id: "3", name: "c" }],
      coordinates: [[0, 0], [1, 0], [2, 0]],
      edges: [
        { source: "a", target: "b", distance: 1 },
        { source: "b", target: "c", distance: 2 },
        { source: "b", target: "ghost", distance: 3 },
      ],
      method: "pca",
    });
    expect(edges).toEqual([{ i: 0, j: 1, distance: 1 }, { i: 1, j: 2, distance: 2 }]);
  });
});

describe("charts", () => {
  it("pads an extent and never returns an empty one", () => {
    expect(paddedExtent([0, 10], 0.1)).toEqual([-1, 11]);
    expect(paddedExtent([null, 2, 2], 0)).toEqual([1.9, 2.1]);
    expect(paddedExtent([])).toEqual([0, 1]);
  });

  it("outlines a histogram from and back to zero", () => {
    expect(stepPoints([0, 1, 2], [3, 5])).toEqual([[0, 0], [0, 3], [1, 3], [1, 5], [2, 5], [2, 0]]);
    expect(stepPoints([0, 1], [1, 2])).toEqual([]);
    expect(pathOf([[0, 1], [2.5, 3]])).toBe("M0.00,1.00L2.50,3.00");
  });

  it("breaks a parallel-coordinates line at a missing value", () => {
    const segs = lineSegments([1, 2, null, 4], (i) => i * 10, (v) => v);
    expect(segs).toEqual([[[0, 1], [10, 2]], [[30, 4]]]);
  });

  it("pushes colliding labels apart and leaves distant ones", () => {
    const ys = spreadLabels([{ x: 0, y: 10 }, { x: 5, y: 12 }, { x: 300, y: 11 }, { x: 2, y: 14 }], 10, 50);
    expect(ys).toEqual([10, 20, 11, 30]);
    expect(spreadLabels([])).toEqual([]);
  });

  it("gives classes distinct colours, even beyond ten", () => {
    expect(new Set([0, 1, 2].map((i) => classColor(i, 3))).size).toBe(3);
    expect(new Set(Array.from({ length: 20 }, (_, i) => classColor(i, 20))).size).toBe(20);
  });

  it("formats numbers and changes briefly", () => {
    expect(fmt(1.298)).toBe("1.3");
    expect(fmt(33.97)).toBe("34");
    expect(fmt(null)).toBe("–");
    expect(fmt(1500)).toBe("1500");
    expect(fmt(2.5e7)).toBe("2.50e+7");
    expect(fmtDelta(-0.0123)).toBe("−0.012");
    expect(fmtDelta(0)).toBe("±0");
    expect(fmtDelta(2.5)).toBe("+2.5");
  });
});

describe("occlusion", () => {
  it("tiles stride-sized cells centred in each patch", () => {
    const cells = occlusionCells([[1, -2], [null, 4]], 8, 4);
    expect(cells).toEqual([
      { row: 0, col: 0, x: 2, y: 2, size: 4, value: 1 },
      { row: 0, col: 1, x: 6, y: 2, size: 4, value: -2 },
      { row: 1, col: 1, x: 6, y: 6, size: 4, value: 4 },
    ]);
  });

  it("covers the image when patch equals stride", () => {
    const cells = occlusionCells([[0, 0, 0]], 4, 4);
    expect(cells.map((c) => [c.x, c.size])).toEqual([[0, 4], [4, 4], [8, 4]]);
  });

  it("bounds a diverging scale by the largest magnitude", () => {
    expect(symmetricBound([[[1, -3]], [[2, null]]])).toBe(3);
    expect(symmetricBound([[[0]]])).toBe(1);
  });
});
