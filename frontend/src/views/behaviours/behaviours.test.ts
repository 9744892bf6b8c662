import { describe, expect, it } from "vitest";
import {
  MAX_BEHAVIOUR_MODELS,
  answersById,
  behaviourDatasets,
  behavioursUrl,
  buildSubgroupTable,
  buildTable,
  classIndex,
  flipLabel,
  instancesUrl,
  pageLabel,
  pageOffset,
  type BatchAnswer,
  compareUrl,
  comparedModels,
  errorDetail,
  evaluatedDatasets,
  formatInterval,
  formatPoints,
  glyphExtent,
  columnExtents,
  glyphClip,
  robustGlyphScale,
  glyphX,
  EXCESS_MEANING,
  excessOf,
  excessTitle,
  type CompareAnswer,
} from "./behaviours";
import type { components } from "../../lib/api-types";
import { model } from "../../lib/fixtures";

type PerClass = components["schemas"]["ClassChange"];
type PerSubgroup = components["schemas"]["SubgroupChange"];

// `extra` may hold what the typed answer forbids (e.g. an unknown `excess`): the UI must cope
const cls = (c: string | number, delta: number, extra: Record<string, unknown> = {}): PerClass => ({
  class: String(c),
  count: 10,
  base_accuracy: 0.9,
  accuracy: 0.9 + delta,
  delta,
  delta_low: delta - 0.05,
  delta_high: delta + 0.05,
  excess_delta: delta,
  p_value: 0.5,
  excess: null,
  ...extra,
}) as PerClass;
const answer = (per_class: PerClass[], per_subgroup: Record<string, PerSubgroup[]> = {}): CompareAnswer => ({
  summary: {},
  per_class,
  per_subgroup,
});

describe("datasets", () => {
  it("lists metric groups except model", () => {
    expect(evaluatedDatasets(model("a", null, [], { model: { x: 1 }, ds: { accuracy: 1 } }))).toEqual(["ds"]);
    expect(evaluatedDatasets(undefined)).toEqual([]);
  });
  it("keeps the base's datasets that a model is evaluated on, full coverage first", () => {
    const base = model("b", null, [], { model: {}, d1: { accuracy: 1 }, d2: { accuracy: 1 }, d3: { accuracy: 1 } });
    const m1 = model("m1", null, [], { d2: { accuracy: 1 }, d1: { accuracy: 1 } });
    const m2 = model("m2", null, [], { d2: { accuracy: 1 } });
    expect(behaviourDatasets(base, [m1, m2])).toEqual(["d2", "d1"]);
    expect(behaviourDatasets(base, [])).toEqual(["d1", "d2", "d3"]);
  });
});

describe("comparedModels", () => {
  it("drops the base and caps", () => {
    expect(comparedModels(["a", "base", "b"], "base")).toEqual({ ids: ["a", "b"], dropped: 0 });
    const many = Array.from({ length: 11 }, (_, i) => `m${i}`);
    const r = comparedModels(many, null, 8);
    expect(r.ids).toHaveLength(8);
    expect(r.dropped).toBe(3);
  });
});

describe("excess", () => {
  it("reads the direction the API gives, nothing else", () => {
    expect(excessOf(cls(0, -0.1, { excess: "loss", excess_delta: -0.08 }))).toBe("loss");
    expect(excessOf(cls(0, 0.1, { excess: "gain", excess_delta: 0.08 }))).toBe("gain");
    expect(excessOf(cls(0, -0.1, { excess: null, excess_delta: -0.08 }))).toBeNull();
    expect(excessOf(cls(0, -0.1, { excess: "significant" }))).toBeNull();
    expect(excessOf(null)).toBeNull();
  });
  it("shows Δ = 0 [0, 0] of a model that lost as faring better, never as a loss", () => {
    // what the API answers for an unchanged class while the model overall lost 20 points
    const unchanged = cls("a", 0, { delta_low: 0, delta_high: 0, excess_delta: 0.2, p_value: 0.004, excess: "gain" });
    expect(excessOf(unchanged)).toBe("gain");
    const [row] = buildTable(["m"], new Map([["m", answer([unchanged])]]));
    expect(row.cells[0].excess).toBe("gain");
    expect(excessTitle("gain")).toBe("fared better than the model overall");
  });
  it("uses the words of the Python API and the CLI", () => {
    expect(EXCESS_MEANING).toEqual({
      loss: "lost more than the model overall",
      gain: "fared better than the model overall",
    });
    expect(excessTitle(null)).toBe("");
  });
});

describe("buildTable", () => {
  it("unions classes in first-seen order and fills missing cells", () => {
    const answers = new Map<string, CompareAnswer | undefined>([
      ["a", answer([cls("cat", -0.1, { excess: "loss", excess_delta: -0.05 }), cls("dog", 0.02)])],
      ["b", answer([cls("dog", -0.01), cls("bird", 0)])],
      ["c", undefined],
    ]);
    const rows = buildTable(["a", "b", "c"], answers);
    expect(rows.map((r) => r.key)).toEqual(["cat", "dog", "bird"]);
    expect(rows[0].cells.map((c) => c.modelId)).toEqual(["a", "b", "c"]);
    expect(rows[0].cells[0].change?.delta).toBe(-0.1);
    expect(rows[0].cells[1].change).toBeNull();
    expect(rows[0].cells.map((c) => c.excess)).toEqual(["loss", null, null]);
    expect(rows[1].cells.map((c) => c.excess)).toEqual([null, null, null]);
    expect(rows[1].cells[1].change?.delta).toBe(-0.01);
    expect(rows[0].count).toBe(10);
  });
  it("keys numeric classes as strings", () => {
    const rows = buildTable(["a"], new Map([["a", answer([cls(3, 0)])]]));
    expect(rows[0].key).toBe("3");
  });
});

describe("formatting", () => {
  it("formats points with a sign", () => {
    expect(formatPoints(0.0123)).toBe("+1.2");
    expect(formatPoints(-0.034)).toBe("\u22123.4");
    expect(formatPoints(0)).toBe("0.0");
    expect(formatPoints(-0.0001)).toBe("0.0");
    expect(formatPoints(null)).toBe("–");
    expect(formatPoints(Number.NaN)).toBe("–");
  });
  it("formats intervals", () => {
    expect(formatInterval({ ...cls(0, 0), delta_low: -0.031, delta_high: 0.004 })).toBe("[\u22123.1, +0.4]");
    expect(formatInterval({ ...cls(0, 0), delta_low: null, delta_high: 0.1 })).toBe("");
  });
  it("builds the compare URL", () => {
    expect(compareUrl("b a", "m", "ds")).toBe("api/compare?base=b+a&model=m&dataset=ds&n_boot=200");
  });
  it("reads API error details", () => {
    expect(errorDetail(404, { detail: "no predictions" })).toBe("no predictions");
    expect(errorDetail(422, { detail: [{ msg: "bad" }, { msg: "worse" }] })).toBe("bad; worse");
    expect(errorDetail(500, null)).toBe("request failed (HTTP 500)");
  });
});

describe("glyph scale", () => {
  it("is symmetric and covers every interval", () => {
    const rows = buildTable(["a"], new Map([["a", answer([cls(0, -0.2)])]]));
    expect(glyphExtent(rows)).toBeCloseTo(0.25);
    expect(glyphExtent([])).toBe(0.02);
    expect(glyphX(0, 0.1, 100)).toBe(50);
    expect(glyphX(-1, 0.1, 100)).toBe(0);
    expect(glyphX(0.1, 0.1, 100)).toBe(100);
  });
});

describe("robust glyph scale", () => {
  // a class change with a ±0.05 interval; `cls` gives ±0.05 too, keep the tests independent of it
  const change = (delta: number) => ({ ...cls("c", delta), count: 100, delta_low: delta - 0.01, delta_high: delta + 0.01 });
  const table = (cols: Record<string, number[]>) => {
    const ids = Object.keys(cols);
    const answers = new Map(
      ids.map((id) => [id, answer(cols[id].map((d, i) => ({ ...change(d), class: `c${i}` })))] as const),
    );
    return buildTable(ids, answers);
  };

  it("lets no collapsed model squeeze the other columns", () => {
    const rows = table({ fine: [-0.03, 0.01], okay: [-0.05, 0.02], collapsed: [-0.6, -0.4] });
    const s = robustGlyphScale(rows);
    expect(s.outliers).toEqual(["collapsed"]);
    expect(s.extent).toBeCloseTo(0.06); // the widest non-outlier interval bound
    expect(s.clipped).toBe(6); // both deltas and all four bounds of the collapsed model
    expect(glyphExtent(rows)).toBeCloseTo(0.61); // the old scale: fine's glyphs within 5% of 0
  });
  it("is the full extent when no column stands out", () => {
    const rows = table({ a: [-0.05], b: [-0.12] });
    const s = robustGlyphScale(rows);
    expect(s.outliers).toEqual([]);
    expect(s.extent).toBeCloseTo(glyphExtent(rows));
    expect(s.clipped).toBe(0);
  });
  it("keeps a lone model's own scale, and the minimum when empty", () => {
    expect(robustGlyphScale(table({ only: [-0.6] })).extent).toBeCloseTo(0.61);
    expect(robustGlyphScale([])).toEqual({ extent: 0.02, outliers: [], clipped: 0 });
  });
  it("measures each column's reach", () => {
    const reach = columnExtents(table({ a: [0.001], b: [-0.3] }));
    expect(reach.get("a")).toBe(0.02); // the minimum
    expect(reach.get("b")).toBeCloseTo(0.31);
  });
  it("says on which side a value is clipped", () => {
    expect(glyphClip(-0.5, 0.1)).toBe(-1);
    expect(glyphClip(0.5, 0.1)).toBe(1);
    expect(glyphClip(0.1, 0.1)).toBe(0);
  });
});

describe("batch answers", () => {
  it("caps the selection at 50 models", () => {
    expect(MAX_BEHAVIOUR_MODELS).toBe(50);
    const many = Array.from({ length: 53 }, (_, i) => `m${i}`);
    expect(comparedModels(many, "m0")).toEqual({ ids: many.slice(1, 51), dropped: 2 });
  });
  it("builds the batch URL with a comma list", () => {
    expect(behavioursUrl("b", ["m1", "m2"], "ds", 100)).toBe("api/behaviours?base=b&models=m1%2Cm2&dataset=ds&n_boot=100");
  });
  it("indexes the batch records by model id", () => {
    const batch: BatchAnswer = {
      base: { id: "b", name: "B" },
      dataset: "ds",
      class_names: ["cat"],
      n_boot: 10,
      models: [{ model: { id: "m1", name: "M1" }, ...answer([cls("cat", -0.1)]) }],
    };
    const byId = answersById(batch);
    expect([...byId.keys()]).toEqual(["m1"]);
    expect(buildTable(["m1", "m2"], byId)[0].cells.map((c) => c.change?.delta ?? null)).toEqual([-0.1, null]);
    expect(answersById(null).size).toBe(0);
  });
});

describe("buildSubgroupTable", () => {
  const sub = (value: string, delta: number, extra: Record<string, unknown> = {}): PerSubgroup => {
    const { class: _class, ...change } = cls(0, delta, extra);
    return { ...change, value };
  };
  it("lists attributes in first-seen order with one row per value and cell per model", () => {
    const answers = new Map<string, CompareAnswer | undefined>([
      ["a", answer([], { brightness: [sub("dark", -0.1, { excess: "loss", excess_delta: -0.04 }), sub("bright", 0.01)] })],
      ["b", answer([], { brightness: [sub("dark", 0.02)], ink: [sub("sparse", 0)] })],
    ]);
    const rows = buildSubgroupTable(["a", "b"], answers);
    expect(rows.map((r) => r.key)).toEqual(["brightness=dark", "brightness=bright", "ink=sparse"]);
    expect(rows.map((r) => [r.attribute, r.value])).toEqual([
      ["brightness", "dark"],
      ["brightness", "bright"],
      ["ink", "sparse"],
    ]);
    expect(rows[0].cells.map((c) => c.change?.delta)).toEqual([-0.1, 0.02]);
    expect(rows[0].cells.map((c) => c.excess)).toEqual(["loss", null]);
    expect(rows[1].cells[1].change).toBeNull();
    expect(rows[2].cells[0].change).toBeNull();
  });
  it("is empty without subgroups", () => {
    expect(buildSubgroupTable(["a"], new Map([["a", answer([cls(0, 0)])]]))).toEqual([]);
  });
});

describe("drill-down", () => {
  it("builds the instances URL with every filter", () => {
    const url = instancesUrl({
      base: "b",
      model: "m",
      dataset: "ds",
      label: 6,
      flip: "correct_to_incorrect",
      sort: "kl",
      descending: true,
      offset: 24,
      limit: 24,
    });
    expect(url).toBe(
      "api/compare/instances?base=b&model=m&dataset=ds&label=6&flip=correct_to_incorrect&sort=kl&descending=true&offset=24&limit=24",
    );
  });
  it("labels and moves between pages", () => {
    expect(pageLabel(1000, 24, 24)).toBe("25–48 of 1,000");
    expect(pageLabel(0, 0, 0)).toBe("none");
    expect(pageOffset(100, 0, 24, -1)).toBeNull();
    expect(pageOffset(100, 0, 24, 1)).toBe(24);
    expect(pageOffset(100, 96, 24, 1)).toBeNull();
    expect(pageOffset(100, 10, 24, -1)).toBe(0);
    expect(pageOffset(100, 48, 24, -1)).toBe(24);
  });
  it("finds class ids and flip labels", () => {
    expect(classIndex(["T-shirt/top", "Shirt"], "Shirt")).toBe(1);
    expect(classIndex(["a"], "z")).toBeNull();
    expect(flipLabel("correct_to_incorrect")).toBe("correct → incorrect");
    expect(flipLabel("odd")).toBe("odd");
  });
});
