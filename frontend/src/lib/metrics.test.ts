import { describe, expect, it } from "vitest";
import {
  availableMetrics,
  metricLabel,
  defaultMetric,
  directionOf,
  formatDelta,
  formatValue,
  metricValue,
  metricGroups,
  isAncestor,
  primaryLineage,
  primaryParent,
  suggestedBase,
} from "./metrics";
import { SMALL, model } from "./fixtures";
import type { ApiModel } from "./types";

describe("metric extraction", () => {
  it("reads model and dataset metrics by key", () => {
    expect(metricValue(SMALL[0], "model/compressed_bytes")).toBe(1000);
    expect(metricValue(SMALL[0], "ds/accuracy")).toBe(0.9);
  });
  it("is null when missing or not finite", () => {
    expect(metricValue(SMALL[4], "ds/accuracy")).toBeNull();
    const m = model("x", null, [], { model: { macs: NaN } });
    expect(metricValue(m, "model/macs")).toBeNull();
    // never sent (the schema requires metrics), but a malformed answer must not throw
    const noMetrics = { ...m, metrics: null as unknown as ApiModel["metrics"] };
    expect(metricValue(noMetrics, "model/macs")).toBeNull();
  });
  it("lists every metric once, dataset metrics first, with directions", () => {
    const ms = availableMetrics(SMALL);
    expect(ms.map((m) => m.key)).toEqual(["ds/accuracy", "model/compressed_bytes"]);
    expect(ms[0].direction).toBe("max");
    expect(ms[1].direction).toBe("min");
    expect(ms[0].label).toContain("ds");
  });
  it("picks preferred defaults", () => {
    const ms = availableMetrics(SMALL);
    expect(defaultMetric(ms, ["compressed_bytes"])).toBe("model/compressed_bytes");
    expect(defaultMetric(ms, ["nothing"])).toBe("ds/accuracy");
    expect(defaultMetric([], ["accuracy"])).toBe("");
  });
  it("knows better directions", () => {
    expect(directionOf("top5_accuracy")).toBe("max");
    expect(directionOf("latency_ms_b1")).toBe("min");
    expect(directionOf("loss")).toBe("min");
  });
});

describe("provenance helpers", () => {
  it("takes the student, not the teacher, as primary parent", () => {
    expect(primaryParent(SMALL[4])).toBe("q1");
    expect(primaryParent(SMALL[0])).toBeNull();
  });
});

describe("formatting", () => {
  it("shortens large numbers and keeps accuracy precise", () => {
    expect(formatValue(424056)).toBe("424k");
    expect(formatValue(2_500_000)).toBe("2.50M");
    expect(formatValue(0.87543, "accuracy")).toBe("0.875");
    expect(formatValue(null)).toBe("–");
  });
  it("signs changes and adds relative change for sizes", () => {
    expect(formatDelta(500, 1000, "compressed_bytes")).toBe("−500 (-50.0%)");
    expect(formatDelta(0.85, 0.9, "accuracy")).toBe("−0.050");
    expect(formatDelta(null, 1)).toBe("–");
  });
});

describe("small values", () => {
  it("shows a sub-millisecond latency with three significant digits, never 0", () => {
    expect(formatValue(0.27358889, "latency_ms_b1")).toBe("0.274");
    expect(formatValue(0.0123, "latency_ms_b1")).toBe("0.0123");
    expect(formatValue(0.0001, "latency_ms_b1")).toBe("1.0e-4");
    expect(formatValue(-0.00042)).toBe("-4.2e-4");
    expect(formatValue(0)).toBe("0");
  });
  it("keeps a tiny accuracy change visible instead of rounding it to 0.000", () => {
    expect(formatValue(0.0004, "accuracy")).toBe("4.0e-4");
    expect(formatDelta(0.9004, 0.9, "accuracy")).toBe("+4.0e-4");
  });
});

describe("robustness runs in the metric lists", () => {
  // two sweeps on one dataset (200 and 1000 instances), each: clean + 2 conditions
  const conditions = (suffix: string, clean: number, a: number, b: number) => ({
    [`robust:clean@0${suffix}`]: clean,
    [`robust:gaussian_noise@1${suffix}`]: a,
    [`robust:contrast@5${suffix}`]: b,
  });
  const models = [
    model("m1", null, [], { model: { compressed_bytes: 10 }, ds: { accuracy: 0.9, ...conditions("#n200s0", 0.9, 0.8, 0.6) } }),
    model("m2", null, [], { ds: { accuracy: 0.8, ...conditions("#n200s0", 0.8, 0.5, 0.3), ...conditions("#n1000s1", 0.8, 0.4, 0.2) } }),
  ];
  const metrics = availableMetrics(models);

  it("offers one mean per run, never a per-condition result", () => {
    expect(metrics.map((m) => m.key)).toEqual([
      "ds/accuracy",
      "model/compressed_bytes",
      "ds/robust:mean#n1000s1",
      "ds/robust:mean#n200s0",
    ]);
    expect(metrics.some((m) => m.label.includes("robust:"))).toBe(false);
  });
  it("names each run by its dataset, and by instances and seed when a dataset has several", () => {
    const robust = metrics.filter((m) => m.section === "robustness");
    expect(robust.map((m) => m.label)).toEqual([
      "Robust accuracy (mean over conditions) · ds (1000 instances, seed 1)",
      "Robust accuracy (mean over conditions) · ds (200 instances, seed 0)",
    ]);
    expect(robust.every((m) => m.direction === "max")).toBe(true);
    const single = availableMetrics([models[0]]).find((m) => m.section === "robustness");
    expect(single?.label).toBe("Robust accuracy (mean over conditions) · ds");
  });
  it("values a run by the mean of its corrupted conditions, clean excluded", () => {
    expect(metricValue(models[0], "ds/robust:mean#n200s0")).toBeCloseTo(0.7, 12);
    expect(metricValue(models[1], "ds/robust:mean#n200s0")).toBeCloseTo(0.4, 12);
    expect(metricValue(models[1], "ds/robust:mean#n1000s1")).toBeCloseTo(0.3, 12);
    expect(metricValue(models[0], "ds/robust:mean#n1000s1")).toBeNull();
  });
  it("groups the lists: each dataset, the model's own figures, robustness last", () => {
    expect(metricGroups(metrics).map((g) => [g.label, g.metrics.length])).toEqual([
      ["Dataset: ds", 1],
      ["Model: size and speed", 1],
      ["Robustness", 2],
    ]);
  });
});

describe("base suggestion", () => {
  // two architectures: cnn (tagged base) and a lean family rooted at "init" with two seeds
  const ws = [
    ...SMALL,
    model("init", null),
    model("s0", "train.scratch", [{ id: "init" }]),
    model("s1", "train.scratch", [{ id: "init" }]),
    model("s0p50", "prune.magnitude", [{ id: "s0" }]),
    model("s0p80", "prune.magnitude", [{ id: "s0" }]),
    model("s0p80ft", "train.finetune", [{ id: "s0p80" }]),
    model("s1p80", "prune.magnitude", [{ id: "s1" }]),
    model("lone", null),
  ];
  const byId = new Map(ws.map((m) => [m.id, m]));

  it("follows primary parents, skipping teachers", () => {
    expect(primaryLineage("s0p80ft", byId)).toEqual(["s0p80ft", "s0p80", "s0", "init"]);
    expect(primaryLineage("st", byId)).toEqual(["st", "q1", "base"]);
  });
  it("finds ancestors through any parent", () => {
    expect(isAncestor("s0", "s0p80ft", byId)).toBe(true);
    expect(isAncestor("base", "st", byId)).toBe(true);
    expect(isAncestor("s1", "s0p80ft", byId)).toBe(false);
    expect(isAncestor("s0p80ft", "s0p80ft", byId)).toBe(false);
  });
  it("offers the nearest shared ancestor when the base is unrelated", () => {
    expect(suggestedBase(["s0p50", "s0p80ft"], "base", byId)).toBe("s0");
    expect(suggestedBase(["s0p80", "s1p80"], "base", byId)).toBe("init");
    // a selected model that is the others' ancestor is itself the shared ancestor
    expect(suggestedBase(["s0", "s0p50", "s0p80"], "base", byId)).toBe("s0");
    // one model: its parent, so that something is left to compare
    expect(suggestedBase(["s0p50"], "base", byId)).toBe("s0");
  });
  it("offers nothing when the base is an ancestor of any selected model", () => {
    expect(suggestedBase(["s0p50", "s0p80"], "s0", byId)).toBeNull();
    expect(suggestedBase(["s0p50", "p1"], "base", byId)).toBeNull();
    expect(suggestedBase(["st"], "base", byId)).toBeNull(); // through the teacher
  });
  it("offers nothing without a shared ancestor or other models", () => {
    expect(suggestedBase(["s0p50", "lone"], "base", byId)).toBeNull();
    expect(suggestedBase(["lone"], "base", byId)).toBeNull();
    expect(suggestedBase([], "base", byId)).toBeNull();
    expect(suggestedBase(["base"], "base", byId)).toBeNull();
    expect(suggestedBase(["nope"], "base", byId)).toBeNull();
  });
  it("offers one even with no base at all", () => {
    expect(suggestedBase(["s0p50", "s0p80"], null, byId)).toBe("s0");
  });
});

describe("a language model's metrics", () => {
  const lm = { id: "lm", name: "lm", metrics: { "lm-held-out": { perplexity: 164, kld_mean: 0.2, same_top: 0.9, correct_to_incorrect: 12, delta_p_p5: -0.1 } } } as unknown as Parameters<typeof availableMetrics>[0][number];
  it("have readable names and the right better direction", () => {
    const byName = new Map(availableMetrics([lm]).map((m) => [m.name, m]));
    expect(byName.get("perplexity")).toMatchObject({ label: "Perplexity · lm-held-out", direction: "min" });
    expect(byName.get("kld_mean")).toMatchObject({ label: "KLD mean vs root · lm-held-out", direction: "min" });
    expect(byName.get("same_top")).toMatchObject({ label: "Same top-1 token rate · lm-held-out", direction: "max" });
    expect(byName.get("correct_to_incorrect")?.direction).toBe("min");
    expect(byName.get("delta_p_p5")).toMatchObject({ label: "Δp true token, p5 · lm-held-out", direction: "max" });
  });
  it("leave the image metrics' names alone", () => {
    expect(metricLabel("accuracy")).toBe("Top-1 accuracy");
    expect(metricLabel("latency_ms_b1")).toBe("Latency ms (batch 1)");
    expect(metricLabel("robust_thing")).toBe("robust thing");
  });
});
