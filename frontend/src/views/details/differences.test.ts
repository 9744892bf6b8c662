import { describe, expect, it } from "vitest";
import {
  IMPORTED,
  NONE,
  UNSET,
  familyOf,
  findDifferences,
  groupStats,
  levelsOf,
  lineage,
  mainMetricKeys,
  sharedPrefixLength,
  stepsAfter,
  summarize,
  valueLabel,
  type Variable,
} from "./differences";
import { DETAILS_BY_ID as BY_ID, pick } from "./fixtures-details";
import type { ApiModel } from "../../lib/types";

const variable = (d: ReturnType<typeof findDifferences>, label: string): Variable | undefined =>
  d.variables.find((v) => v.label === label || v.aliases.includes(label));
const levels = (v: Variable | undefined) => v?.levels.map((l) => l.label);

describe("lineage", () => {
  it("walks the primary parent to the root, not the teacher", () => {
    expect(lineage(BY_ID.get("s0p5kd")!, BY_ID).map((m) => m.id)).toEqual(["s0", "s0p5", "s0p5kd"]);
    expect(lineage(BY_ID.get("s0")!, BY_ID).map((m) => m.id)).toEqual(["s0"]);
  });
  it("stops at a parent that is not in the workspace and at cycles", () => {
    const orphan: ApiModel = { id: "o", name: "o", operation: { name: "prune.x", parents: [{ id: "gone" }] } };
    expect(lineage(orphan, BY_ID).map((m) => m.id)).toEqual(["o"]);
    const a: ApiModel = { id: "a", name: "a", operation: { name: "x", parents: [{ id: "b" }] } };
    const b: ApiModel = { id: "b", name: "b", operation: { name: "x", parents: [{ id: "a" }] } };
    const map = new Map([["a", a], ["b", b]]);
    expect(lineage(a, map).map((m) => m.id)).toEqual(["b", "a"]);
  });
  it("measures the shared prefix", () => {
    const l = (id: string) => lineage(BY_ID.get(id)!, BY_ID);
    expect(sharedPrefixLength([l("s0p5ft"), l("s0p5kd")])).toBe(2);
    expect(sharedPrefixLength([l("s0p5"), l("s1p5")])).toBe(0);
    expect(sharedPrefixLength([l("s0"), l("s0p8")])).toBe(1);
    expect(sharedPrefixLength([])).toBe(0);
  });
});

describe("steps and slots", () => {
  it("names slots by operation family, numbering repeats, origin when nothing is shared", () => {
    const line = lineage(BY_ID.get("s0p5ft")!, BY_ID);
    expect(stepsAfter(line, 0, BY_ID).map((s) => s.slot)).toEqual(["origin", "prune", "train"]);
    expect(stepsAfter(line, 1, BY_ID).map((s) => s.slot)).toEqual(["prune", "train"]);
    const twice: ApiModel[] = [
      { id: "r", name: "r", operation: null },
      { id: "t1", name: "t1", operation: { name: "train.finetune", parents: [{ id: "r" }] } },
      { id: "t2", name: "t2", operation: { name: "train.finetune", parents: [{ id: "t1" }] } },
    ];
    const steps = stepsAfter(twice, 0, new Map(twice.map((x) => [x.id, x])));
    expect(steps.map((s) => [s.slot, s.op])).toEqual([["origin", IMPORTED], ["train", "train.finetune"], ["train #2", "train.finetune"]]);
  });
  it("records the teacher of a distillation by name", () => {
    const steps = stepsAfter(lineage(BY_ID.get("s0p5kd")!, BY_ID), 2, BY_ID);
    expect(steps[0].teacher).toBe("s0-name");
  });
  it("labels values readably", () => {
    expect(familyOf("prune.magnitude")).toBe("prune");
    expect(familyOf("custom")).toBe("custom");
    expect(valueLabel(0.5)).toBe("0.5");
    expect(valueLabel(undefined)).toBe(UNSET);
    expect(valueLabel(null)).toBe("null");
    expect(valueLabel(["Linear", "Conv2d"])).toBe('["Linear","Conv2d"]');
    expect(valueLabel(false)).toBe("false");
  });
  it("sorts levels: none/no first, numbers numerically", () => {
    const ls = levelsOf({ a: "10", b: "9", c: NONE, d: "0.5" }, ["a", "b", "c", "d"]);
    expect(ls.map((l) => l.label)).toEqual([NONE, "0.5", "9", "10"]);
    expect(levelsOf({ a: "yes", b: "no" }, ["a", "b"]).map((l) => l.label)).toEqual(["no", "yes"]);
  });
});

describe("findDifferences", () => {
  it("finds amount and seed across two seeds and two amounts; scope is shared", () => {
    const d = findDifferences(pick("s0p5", "s0p8", "s1p5", "s1p8"), BY_ID);
    expect(d.ancestor).toBeNull();
    const amount = variable(d, "prune · amount");
    expect(levels(amount)).toEqual(["0.5", "0.8"]);
    expect(amount?.levels[0].ids.sort()).toEqual(["s0p5", "s1p5"]);
    // the origin's seed, the pruning seed and the origin model split the models the same way
    const seed = variable(d, "origin · seed");
    expect(levels(seed)).toEqual(["0", "1"]);
    expect(seed?.aliases).toEqual(expect.arrayContaining(["prune · seed", "origin model"]));
    expect(d.variables).toHaveLength(2);
    expect(d.shared).toEqual(expect.arrayContaining([
      { label: "prune", value: "prune.magnitude" },
      { label: "prune · scope", value: "global" },
      { label: "origin", value: "train.scratch" },
      { label: "origin · lr", value: "0.003" },
    ]));
  });
  it("finds the scope when global and local pruning of one seed are selected", () => {
    const d = findDifferences(pick("s0p5", "s0p5l"), BY_ID);
    expect(d.ancestor?.id).toBe("s0");
    expect(d.variables.map((v) => v.label)).toEqual(["prune · scope"]);
    expect(d.shared).toContainEqual({ label: "operation sequence", value: "prune.magnitude" });
    expect(d.chains.s0p5.map((s) => s.op)).toEqual(["prune.magnitude"]);
  });
  it("finds operation presence (fine-tuning yes/no) from the shared ancestor", () => {
    const d = findDifferences(pick("s0p5", "s0p5ft", "s0p5kd", "s0p8"), BY_ID);
    expect(d.ancestor?.id).toBe("s0");
    const has = variable(d, "has train step (distill / finetune)")!;
    expect(has.kind).toBe("presence");
    expect(has.label).toBe("has train step (distill / finetune)");
    expect(has.valueOf).toEqual({ s0p5: "no", s0p5ft: "yes", s0p5kd: "yes", s0p8: "no" });
    // the operation and its epochs split the same way: merged into the presence variable
    expect(has.aliases).toEqual(expect.arrayContaining(["train · epochs"]));
    // the selected ancestor itself has no steps
    const e = findDifferences(pick("s0p5", "s0p5ft"), BY_ID);
    expect(e.ancestor?.id).toBe("s0p5");
    expect(e.chains.s0p5).toEqual([]);
    expect(e.variables[0].aliases).toContain("has train step (finetune)");
  });
  it("finds operation type: fine-tune versus distill, prune versus quantize", () => {
    const d = findDifferences(pick("s0p5ft", "s0p5kd", "s0p5"), BY_ID);
    expect(levels(variable(d, "train operation"))).toEqual([NONE, "train.distill", "train.finetune"]);
    // temperature and teacher (unset for fine-tuning) split the models as the operation does
    const op = variable(d, "train operation")!;
    expect(op.aliases).toEqual(expect.arrayContaining(["train · temperature", "train · teacher"]));
    expect(op.valueOf).toEqual({ s0p5ft: "train.finetune", s0p5kd: "train.distill", s0p5: NONE });
    // presence splits differently (no/yes/yes) and stays its own variable
    expect(levels(variable(d, "has train step (distill / finetune)"))).toEqual(["no", "yes"]);

    const e = findDifferences(pick("s0p5", "s0q"), BY_ID);
    expect(e.ancestor?.id).toBe("s0");
    // one model pruned, one quantized: the sequence says it all, presence and type are merged into it
    expect(e.variables.map((v) => v.label)).toEqual(["operation sequence"]);
    expect(e.variables[0].aliases).toEqual(expect.arrayContaining(["has prune step (magnitude)", "has quantize step (dynamic_int8)"]));
  });
  it("lists per slot the parameters that vary among the models having it", () => {
    const d = findDifferences(pick("s0p5ft", "s0p5kd", "s0p5", "s1p8"), BY_ID);
    expect(d.varying.prune.sort()).toEqual(["amount", "seed"]);
    expect(d.varying.train.sort()).toEqual(["teacher", "temperature"]);
    expect(d.varying.origin).toEqual(["seed"]);
  });
  it("tells magnitude from random pruning", () => {
    const d = findDifferences(pick("s0p5l", "s0r"), BY_ID);
    expect(d.variables.map((v) => v.label)).toEqual(["operation sequence"]);
    expect(d.variables[0].aliases).toContain("prune operation");
  });
  it("groups by the whole operation sequence: pruning versus quantization versus both", () => {
    const d = findDifferences(pick("s0p5", "s0q", "s0p5ft", "s0"), BY_ID);
    const seq = d.variables[0];
    expect(seq.kind).toBe("pipeline");
    expect(seq.valueOf).toEqual({
      s0p5: "prune.magnitude",
      s0q: "quantize.dynamic_int8",
      s0p5ft: "prune.magnitude → train.finetune",
      s0: NONE,
    });
    expect(levels(seq)?.[0]).toBe(NONE);
  });
  it("compares an imported root with a trained one", () => {
    const d = findDifferences(pick("imported", "s0"), BY_ID);
    expect(levels(variable(d, "origin operation"))).toEqual([IMPORTED, "train.scratch"]);
  });
  it("has no variables for fewer than two models or duplicates", () => {
    expect(findDifferences(pick("s0p5"), BY_ID).variables).toEqual([]);
    expect(findDifferences(pick("s0p5", "s0p5"), BY_ID).variables).toEqual([]);
    expect(findDifferences([], BY_ID).variables).toEqual([]);
  });
});

describe("groupStats", () => {
  const models = pick("s0p5", "s0p8", "s1p5", "s1p8", "s0p5l");
  const d = findDifferences(models, BY_ID);
  it("averages a metric per level with count and range", () => {
    const amount = variable(d, "prune · amount")!;
    const groups = groupStats(models, amount, "ds/accuracy");
    expect(groups.map((g) => g.level)).toEqual(["0.5", "0.8"]);
    const b5 = groups[0].bars[0];
    expect(b5.count).toBe(3);
    expect(b5.mean).toBeCloseTo((0.89 + 0.87 + 0.85) / 3, 12);
    expect([b5.min, b5.max]).toEqual([0.85, 0.89]);
    expect(groups[1].bars[0].mean).toBeCloseTo(0.75, 12);
  });
  it("splits each group by a secondary variable, leaving out empty combinations", () => {
    const groups = groupStats(models, variable(d, "prune · amount")!, "model/compressed_bytes", variable(d, "prune · scope")!);
    expect(groups[0].bars.map((b) => [b.level, b.total])).toEqual([["global", 2], ["local", 1]]);
    expect(groups[1].bars.map((b) => b.level)).toEqual(["global"]);
  });
  it("skips missing values and reports null for a bar without any", () => {
    const s = summarize(pick("s0r", "s0p5"), "ds/accuracy");
    expect([s.total, s.count, s.mean]).toEqual([2, 1, 0.89]);
    expect(summarize(pick("s0r"), "ds/accuracy").mean).toBeNull();
  });
});

describe("mainMetricKeys", () => {
  it("puts accuracy per dataset first, then size, latency and MACs", () => {
    const keys = ["model/macs", "a/loss", "a/accuracy", "b/accuracy", "model/compressed_bytes", "model/parameters"];
    expect(mainMetricKeys(keys)).toEqual(["a/accuracy", "b/accuracy", "model/compressed_bytes", "model/macs"]);
    expect(mainMetricKeys(["x/loss", "model/parameters"])).toEqual(["x/loss", "model/parameters"]);
  });
});
