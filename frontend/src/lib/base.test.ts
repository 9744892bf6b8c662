import { describe, expect, it } from "vitest";
import { defaultBase, descendantCounts, mostCommonRoot } from "./base";
import { SMALL, model } from "./fixtures";

// a standalone model first (as the demo's "cnn-base" is), then a family with two seeds
const ws = [
  { ...model("lone", null), tags: ["base"] },
  model("s0", "train.scratch"),
  model("s1", "train.scratch"),
  model("s0p50", "prune.magnitude", [{ id: "s0" }]),
  model("s0p80", "prune.magnitude", [{ id: "s0" }]),
  model("s0p80ft", "train.finetune", [{ id: "s0p80" }]),
  model("s1p80", "prune.magnitude", [{ id: "s1" }]),
];

describe("descendant counts", () => {
  it("count every model below, through teachers too, once", () => {
    const counts = descendantCounts(SMALL);
    expect(counts.get("base")).toBe(4);
    expect(counts.get("q1")).toBe(1);
    expect(counts.get("st")).toBe(0);
  });
  it("stop at a cycle", () => {
    const loop = [model("a", "x", [{ id: "b" }]), model("b", "x", [{ id: "a" }])];
    expect(descendantCounts(loop).get("a")).toBe(1);
  });
});

describe("the default base", () => {
  it("is the root with the most descendants, not a standalone model tagged base", () => {
    expect(mostCommonRoot(ws)).toBe("s0");
    expect(defaultBase(ws)).toBe("s0");
  });
  it("keeps the models' order between roots of equal size", () => {
    expect(mostCommonRoot([model("r1", null), model("r2", null)])).toBe("r1");
  });
  it("is the selection's nearest shared ancestor when there is one", () => {
    expect(defaultBase(ws, ["s0p80ft", "s0p50"])).toBe("s0");
    expect(defaultBase(ws, ["s0p80ft"])).toBe("s0p80");
    expect(defaultBase(ws, ["s1p80"])).toBe("s1");
  });
  it("falls back to the most common root when the selection shares no ancestor", () => {
    expect(defaultBase(ws, ["s0p50", "s1p80"])).toBe("s0");
    expect(defaultBase(ws, ["lone"])).toBe("s0");
    expect(defaultBase(ws, ["gone"])).toBe("s0");
  });
  it("is the first model without roots, and none without models", () => {
    expect(defaultBase([model("a", "x", [{ id: "b" }]), model("b", "x", [{ id: "a" }])])).toBe("a");
    expect(defaultBase([])).toBeNull();
  });
});
