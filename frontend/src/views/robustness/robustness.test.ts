import { describe, expect, it } from "vitest";
import {
  MAX_ROBUSTNESS_MODELS,
  buildRobustnessTable,
  corruptionLabel,
  dropColor,
  dropExtent,
  formatAccuracy,
  formatDrop,
  imageDatasets,
  requestKey,
  robustnessModels,
  robustnessUrl,
  textColorFor,
  toggled,
  type RobustnessAnswer,
  type RobustnessRow,
} from "./robustness";
import { apiModel, datasetInfo } from "../../lib/fixtures";

function row(model: string, corruption: string, severity: number, accuracy: number, base: number): RobustnessRow {
  const drop = base - accuracy;
  return { model, corruption, severity, accuracy, base_accuracy: base, drop, relative_drop: drop / base };
}

const ANSWER: RobustnessAnswer = {
  corruptions: ["gaussian_noise", "contrast"],
  severities: [1, 5],
  limit: 200,
  seed: 0,
  computed: true,
  rows: [
    row("base", "clean", 0, 0.9, 0.9),
    row("base", "gaussian_noise", 1, 0.88, 0.88),
    row("base", "gaussian_noise", 5, 0.8, 0.8),
    row("base", "contrast", 1, 0.85, 0.85),
    row("base", "contrast", 5, 0.5, 0.5),
    row("p80", "clean", 0, 0.89, 0.9),
    row("p80", "gaussian_noise", 1, 0.86, 0.88),
    row("p80", "gaussian_noise", 5, 0.7, 0.8),
    row("p80", "contrast", 1, 0.86, 0.85),
    row("p80", "contrast", 5, 0.3, 0.5),
  ],
};

describe("robustnessModels", () => {
  it("drops the base and caps the list, counting what was left out", () => {
    const many = Array.from({ length: MAX_ROBUSTNESS_MODELS + 3 }, (_, i) => `m${i}`);
    const got = robustnessModels(["b", ...many], "b");
    expect(got.ids).toHaveLength(MAX_ROBUSTNESS_MODELS);
    expect(got.ids[0]).toBe("m0");
    expect(got.omitted).toBe(3);
    expect(robustnessModels(["a", "b"], "b", [], 1)).toEqual({ ids: ["a"], omitted: 0, kept: false });
  });

  it("keeps the table shown while the selection is a subset of it (a clicked row)", () => {
    expect(robustnessModels(["y"], "b", ["x", "y"])).toEqual({ ids: ["x", "y"], omitted: 0, kept: true });
    expect(robustnessModels(["x", "y"], "b", ["x", "y"]).kept).toBe(false);
    expect(robustnessModels(["z"], "b", ["x", "y"]).ids).toEqual(["z"]);
    expect(robustnessModels(["b"], "b", ["x"]).ids).toEqual([]); // only the base: nothing to compare
  });
});

describe("robustnessUrl and requestKey", () => {
  const req = { models: ["a", "c"], base: "b", dataset: "fm", corruptions: ["contrast"], severities: [1, 5], limit: 200 };
  it("puts every parameter in the query, peek only when asked", () => {
    const url = robustnessUrl(req);
    expect(url.startsWith("api/robustness?")).toBe(true);
    const q = new URLSearchParams(url.split("?")[1]);
    expect(q.get("models")).toBe("a,c");
    expect(q.get("severities")).toBe("1,5");
    expect(q.get("limit")).toBe("200");
    expect(q.has("peek")).toBe(false);
    expect(new URLSearchParams(robustnessUrl(req, true).split("?")[1]).get("peek")).toBe("true");
  });
  it("keys differ when any parameter differs", () => {
    expect(requestKey(req)).toBe(requestKey({ ...req }));
    expect(requestKey(req)).not.toBe(requestKey({ ...req, limit: 500 }));
    expect(requestKey(req)).not.toBe(requestKey({ ...req, models: ["c", "a"] }));
  });
});

describe("buildRobustnessTable", () => {
  const table = buildRobustnessTable(ANSWER, new Map([["p80", "id-p80"]]));
  it("has clean first, then each corruption's severities, grouped for the header", () => {
    expect(table.conditions.map((c) => c.key)).toEqual([
      "clean@0",
      "gaussian_noise@1",
      "gaussian_noise@5",
      "contrast@1",
      "contrast@5",
    ]);
    expect(table.groups).toEqual([
      { corruption: "clean", span: 1 },
      { corruption: "gaussian_noise", span: 2 },
      { corruption: "contrast", span: 2 },
    ]);
  });
  it("gives one row per model, the base first, with the mean drop of the corrupted conditions", () => {
    expect(table.rows.map((r) => [r.name, r.id, r.isBase])).toEqual([
      ["base", null, true],
      ["p80", "id-p80", false],
    ]);
    const p80 = table.rows[1];
    expect(p80.cells[2].accuracy).toBe(0.7);
    expect(p80.cells[2].drop).toBeCloseTo(0.1, 12);
    expect(p80.meanDrop).toBeCloseTo((0.02 + 0.1 - 0.01 + 0.2) / 4, 12);
    expect(table.rows[0].meanDrop).toBeNull();
  });
  it("shows a missing condition as null and an empty answer as no rows", () => {
    const partial = buildRobustnessTable({ ...ANSWER, rows: ANSWER.rows!.slice(0, 4) }, new Map());
    expect(partial.rows[0].cells[4]).toMatchObject({ key: "contrast@5", accuracy: null, drop: null });
    expect(buildRobustnessTable({ ...ANSWER, rows: null }, new Map()).rows).toEqual([]);
  });
});

describe("the drop colour scale", () => {
  const table = buildRobustnessTable(ANSWER, new Map());
  it("spans the largest drop of the compared models, at least 0.01", () => {
    expect(dropExtent(table)).toBeCloseTo(0.2, 12);
    expect(dropExtent(buildRobustnessTable({ ...ANSWER, rows: ANSWER.rows!.slice(0, 5) }, new Map()))).toBe(0.01);
  });
  it("is red for a loss, blue for a gain, white at zero, grey when missing", () => {
    const color = dropColor(0.2);
    const rgb = (s: string) => s.match(/\d+/g)!.map(Number);
    const [r1, , b1] = rgb(color(0.2));
    const [r2, , b2] = rgb(color(-0.2));
    expect(r1).toBeGreaterThan(b1);
    expect(b2).toBeGreaterThan(r2);
    expect(rgb(color(0)).every((c) => c > 230)).toBe(true);
    expect(color(null)).toBe("#eeeeee");
    expect(color(5)).toBe(color(0.2)); // clamped
  });
  it("switches to white text on strong colours", () => {
    expect(textColorFor(0.19, 0.2)).toBe("#ffffff");
    expect(textColorFor(0.01, 0.2)).toBe("#1d1d1f");
  });
});

describe("formatting", () => {
  it("formats accuracy in percent and the drop as a signed change in points", () => {
    expect(formatAccuracy(0.8766)).toBe("87.7%");
    expect(formatAccuracy(null)).toBe("–");
    expect(formatDrop(0.021)).toBe("−2.1 pt");
    expect(formatDrop(-0.005)).toBe("+0.5 pt");
    expect(formatDrop(0.0001)).toBe("±0.0 pt");
    expect(formatDrop(null)).toBe("–");
    expect(corruptionLabel("gaussian_noise")).toBe("gaussian noise");
  });
  it("toggles a choice and keeps the canonical order", () => {
    expect(toggled([3, 1], 2, [1, 2, 3, 4])).toEqual([1, 2, 3]);
    expect(toggled([1, 2], 2, [1, 2, 3])).toEqual([1]);
  });
});

describe("imageDatasets", () => {
  it("keeps image datasets, the base's evaluated ones first", () => {
    const base = apiModel({ id: "b", metrics: { test: { accuracy: 0.9 } } });
    const got = imageDatasets(
      [
        datasetInfo({ id: "1", name: "train", modality: "image" }),
        datasetInfo({ id: "2", name: "text", modality: "text" }),
        datasetInfo({ id: "3", name: "test", modality: "image" }),
      ],
      base,
    );
    expect(got.map((d) => d.name)).toEqual(["test", "train"]);
  });
});
