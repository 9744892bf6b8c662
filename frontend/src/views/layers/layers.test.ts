import { describe, expect, it } from "vitest";
import {
  ACTIVATION_METRICS,
  activationDataValue,
  activationGrid,
  activationText,
  changeDistribution,
  dataValue,
  enclosing,
  filterTree,
  firstDiverging,
  heatDomain,
  histogramBars,
  layerCell,
  mergedOrder,
  modulePattern,
  moduleTree,
  sensitivityRanking,
  similarityDigits,
  thresholdText,
  type ActivationsAnswer,
  type LayersResult,
  type ModuleRow,
  type RollupRow,
} from "./layers";

const side = (numel: number, zeros: number) => ({ numel, zeros, sparsity: zeros / numel });
const overlap = (both: number, modelOnly: number, baseOnly: number, n: number) => ({
  both,
  model_only: modelOnly,
  base_only: baseOnly,
  both_share: both / n,
  model_only_share: modelOnly / n,
  base_only_share: baseOnly / n,
});

function row(module: string, zeros: number, extra: Partial<ModuleRow> = {}): ModuleRow {
  return {
    module,
    base: side(10, 0),
    model: side(10, zeros),
    quantized: false,
    comparable: true,
    reason: null,
    zero_overlap: overlap(0, zeros, 0, 10),
    relative_change: { mean: zeros / 10, quantiles: {} },
    relative_change_histogram: [10 - zeros, 0, zeros],
    sqnr_db: null,
    ...extra,
  };
}

function rollup(module: string, zeros: number, numel: number, comparable = numel): RollupRow {
  return {
    module,
    modules: 2,
    base: side(numel, 0),
    model: side(numel, zeros),
    comparable_numel: comparable,
    zero_overlap: overlap(0, zeros, 0, comparable || 1),
    relative_change_mean: 0.25,
    relative_change_histogram: comparable ? [numel - zeros, 0, zeros] : [],
    sqnr_db: null,
  };
}

const RESULT: LayersResult = {
  modules: [row("block1.conv", 5), row("block1.bn", 0), row("hidden", 8), row("classifier", 2)],
  rollup: [rollup("", 15, 40), rollup("block1", 5, 20)],
  only_in_base: [],
  only_in_model: [],
  relative_change_edges: [0, 1e-4, 1, 100],
};

describe("module tree", () => {
  it("lists enclosing modules before their children, the whole model first", () => {
    expect(enclosing("a.b.c")).toEqual(["a", "a.b"]);
    const tree = moduleTree([RESULT]);
    expect(tree.map((r) => r.name)).toEqual(["", "block1", "block1.conv", "block1.bn", "hidden", "classifier"]);
    expect(tree.map((r) => r.depth)).toEqual([0, 1, 2, 2, 1, 1]);
    expect(tree.filter((r) => r.leaf).map((r) => r.label)).toEqual(["conv", "bn", "hidden", "classifier"]);
  });

  it("merges several answers, the most complete one's order first, children under parents", () => {
    const short = { ...RESULT, modules: [row("classifier", 1), row("block1.extra", 1)] };
    expect(moduleTree([short, RESULT]).map((r) => r.name)).toEqual([
      "",
      "block1",
      "block1.conv",
      "block1.bn",
      "block1.extra",
      "hidden",
      "classifier",
    ]);
    expect(moduleTree([])).toEqual([]);
  });

  it("orders names by the longest list first", () => {
    expect(mergedOrder([["c", "a"], ["a", "b", "c"], ["d"]])).toEqual(["a", "b", "c", "d"]);
  });
});

describe("pattern filter", () => {
  it("treats plain text as a case-insensitive substring and * ? as a whole-name glob", () => {
    expect(modulePattern("CONV")("block1.conv")).toBe(true);
    expect(modulePattern("block*.bn")("block1.bn")).toBe(true);
    expect(modulePattern("block*.bn")("block1.bn.extra")).toBe(false);
    expect(modulePattern("block?.conv")("block12.conv")).toBe(false);
    expect(modulePattern("block.conv")("block1.conv")).toBe(false); // the dot is literal
    expect(modulePattern("  ")("anything")).toBe(true);
  });

  it("keeps matching rows with their enclosing modules", () => {
    const tree = moduleTree([RESULT]);
    expect(filterTree(tree, "bn").map((r) => r.name)).toEqual(["", "block1", "block1.bn"]);
    expect(filterTree(tree, "nothing")).toEqual([]);
    expect(filterTree(tree, "")).toBe(tree);
  });
});

describe("layer cells", () => {
  it("reads a leaf's sparsity, zero overlap and relative change", () => {
    const cell = layerCell(RESULT, "hidden")!;
    expect(cell.sparsity).toBeCloseTo(0.8);
    expect(cell.overlap).toEqual({ both: 0, modelOnly: 0.8, baseOnly: 0 });
    expect(cell.relChange).toBeCloseTo(0.8);
    expect(cell.histogram).toEqual([2, 0, 8]);
  });

  it("reads roll-ups for enclosing modules and marks incomparable rows", () => {
    expect(layerCell(RESULT, "block1")!.sparsity).toBeCloseTo(0.25);
    expect(layerCell(RESULT, "")!.relChange).toBe(0.25);
    const odd: LayersResult = {
      ...RESULT,
      modules: [row("x", 0, { comparable: false, reason: "shapes differ", zero_overlap: undefined })],
      rollup: [rollup("", 0, 10, 0)],
    };
    expect(layerCell(odd, "x")).toMatchObject({ relChange: null, overlap: null, note: "shapes differ" });
    expect(layerCell(odd, "")).toMatchObject({ relChange: null, histogram: null });
    expect(layerCell(RESULT, "ghost")).toBeNull();
    expect(layerCell(undefined, "hidden")).toBeNull();
  });

  it("gives a low-rank layer the SQNR of its approximation", () => {
    const lr: LayersResult = {
      ...RESULT,
      modules: [row("h", 0, { comparable: false, low_rank: { rank: 4, relative_error: 0.1, sqnr_db: 20 } })],
    };
    expect(layerCell(lr, "h")!.sqnr).toBe(20);
  });
});

describe("histograms", () => {
  it("turns counts into bars with shares and refuses mismatched edges", () => {
    expect(histogramBars([0, 1, 2], [1, 3])).toEqual([
      { x0: 0, x1: 1, count: 1, share: 0.25 },
      { x0: 1, x1: 2, count: 3, share: 0.75 },
    ]);
    expect(histogramBars([0, 1], [1, 3])).toEqual([]);
    expect(histogramBars([0, 1, 2], [0, 0])).toEqual([]);
  });

  it("splits the unchanged bin off the relative-change distribution", () => {
    const d = changeDistribution([0, 1e-4, 1, 100], [6, 1, 3])!;
    expect(d.unchanged).toBeCloseTo(0.6);
    expect(d.bars.map((b) => b.x0)).toEqual([1e-4, 1]);
    expect(changeDistribution([0, 1], null)).toBeNull();
  });
});

function acts(rows: [string, number | null][], first: string | null = null): ActivationsAnswer {
  return {
    base: "b",
    model: "m",
    dataset: "d",
    sample: 8,
    modules: rows.map(([module, cka]) => ({ module, same_shape: true, cka, cosine: 0.5, rel_l2: 0.1, sqnr_db: 10 })),
    only_in_base: [],
    only_in_model: [],
    threshold: 0.9,
    first_divergent_layer: first,
    first_divergent_layers: {},
    first_diverging: {},
  };
}

describe("activation heat map", () => {
  it("lays out modules × models with null for missing values", () => {
    const answers = new Map([
      ["m1", acts([["a", 0.99], ["b", 0.5]])],
      ["m2", acts([["a", null], ["c", 0.7]])],
      ["m3", undefined],
    ]);
    const grid = activationGrid(["m1", "m2", "m3"], answers, "cka");
    expect(grid.modules).toEqual(["a", "b", "c"]);
    expect(grid.values).toEqual([
      [0.99, null, null],
      [0.5, null, null],
      [null, 0.7, null],
    ]);
    // a column with fewer layers does not decide the order
    const few = new Map([["s", acts([["z", 0.9]])], ["l", acts([["x", 0.9], ["z", 0.8], ["y", 0.7]])]]);
    expect(activationGrid(["s", "l"], few, "cka").modules).toEqual(["x", "z", "y"]);
    expect(activationGrid(["m1"], answers, "sqnr_db").values[0]).toEqual([10]);
  });

  it("reads the first diverging layer of the shown metric at its threshold from the server's answer", () => {
    const answer = {
      ...acts([["a", null], ["b", 0.95]]),
      first_diverging: { cka: { "0.9": null, "0.99": "b" }, sqnr_db: { "60": "a" } },
    };
    expect(firstDiverging(answer, "cka", 0.99)).toBe("b");
    expect(firstDiverging(answer, "cka", 0.9)).toBeNull();
    expect(firstDiverging(answer, "cka", 0.5)).toBeNull();
    expect(firstDiverging(answer, "sqnr_db", 60)).toBe("a");
    expect(firstDiverging(answer, "cosine", 0.99)).toBeNull();
  });

  it("marks identical layers, whose SQNR has no finite value", () => {
    const answer = acts([["conv", 1], ["fc", 0.999998]]);
    answer.modules[0] = { ...answer.modules[0], sqnr_db: null, identical: true };
    const grid = activationGrid(["q"], new Map([["q", answer]]), "sqnr_db");
    expect(grid.values).toEqual([[null], [10]]);
    expect(grid.identical).toEqual([[true], [false]]);
  });
});

describe("activation cell text", () => {
  it("shows an identical layer's SQNR as infinite, and no value as a dash", () => {
    expect(activationText(null, "sqnr_db", true)).toBe("∞ dB");
    expect(activationText(null, "sqnr_db")).toBe("–");
    expect(activationText(46.5387, "sqnr_db")).toBe("46.5 dB");
    expect(activationDataValue(null, "sqnr_db", true)).toBe("Infinity");
    expect(activationDataValue(null, "sqnr_db", false)).toBe("");
    expect(activationDataValue(0.5, "cka", false)).toBe("0.5");
  });

  it("never shows a similarity below 1 as 1", () => {
    expect(activationText(0.9999978519555166, "cka")).toBe("0.9999979");
    expect(activationText(0.99987, "cka")).toBe("0.99987");
    expect(activationText(0.9753, "cka")).toBe("0.9753");
    expect(activationText(1, "cka")).toBe("1.0000");
    expect(activationText(null, "cosine")).toBe("–");
    for (const v of [0.99999, 0.9999951, 0.999999999, 1 - 1e-11]) {
      expect(Number(activationText(v, "cka"))).toBeLessThan(1);
    }
    expect(similarityDigits(0.5)).toBe(4);
    expect(similarityDigits(1 - 1e-15)).toBe(12);
  });

  it("offers each metric's default among its thresholds, SQNR in dB", () => {
    for (const m of ACTIVATION_METRICS) expect(m.thresholds).toContain(m.threshold);
    expect(thresholdText(60, "sqnr_db")).toBe("60 dB");
    expect(thresholdText(0.999999, "cka")).toBe("0.999999");
  });
});

describe("heat map colours", () => {
  it("stretches similarities to 1 and the threshold, SQNR to its values", () => {
    expect(heatDomain([0.95, 0.99, null], "cka", 0.9)).toEqual([0.9, 1]);
    expect(heatDomain([0.5, 0.99], "cosine", 0.9)).toEqual([0.5, 1]);
    expect(heatDomain([12, 30], "sqnr_db", 0.9)).toEqual([12, 30]);
    expect(heatDomain([20], "sqnr_db", 0.9)).toEqual([19, 21]);
    expect(heatDomain([12, 30], "sqnr_db", 60)).toEqual([12, 60]);
    expect(heatDomain([null], "cka", 0.9)).toBeNull();
  });
});

describe("sensitivity ranking", () => {
  it("orders by rank, scales bars by the largest drop and marks broken layers", () => {
    const ranked = sensitivityRanking({
      model: "m",
      dataset: "d",
      operation: { name: "prune.magnitude", params: { amount: 0.8 } },
      instances: 100,
      ranking: [
        { layer: "b", baseline: 0.9, score: 0.85, drop: 0.05, rank: 2 },
        { layer: "a", baseline: 0.9, score: 0.0, drop: null, rank: 1 },
        { layer: "c", baseline: 0.9, score: 0.91, drop: -0.01, rank: 3 },
        { layer: "d", baseline: 0.9, score: 0.8, drop: 0.1, rank: 4 },
      ],
      exclude: ["a", "d"],
      mixed_precision: { a: 8, b: 4 },
    });
    expect(ranked.map((r) => r.layer)).toEqual(["a", "b", "c", "d"]);
    expect(ranked.map((r) => r.width)).toEqual([1, 0.5, 0, 1]);
    expect(ranked.map((r) => r.broken)).toEqual([true, false, false, false]);
    expect(ranked.map((r) => r.excluded)).toEqual([true, false, false, true]);
    expect(ranked.map((r) => r.bits)).toEqual([8, 4, null, null]);
  });
});

describe("data values", () => {
  it("keeps full precision and leaves missing values empty", () => {
    expect(dataValue(0.1234567890123)).toBe("0.1234567890123");
    expect(dataValue(null)).toBe("");
    expect(dataValue(Number.NaN)).toBe("");
  });
});
