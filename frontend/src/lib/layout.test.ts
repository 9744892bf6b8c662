import { describe, expect, it } from "vitest";
import { depths, layoutDag, orderRoots } from "./layout";
import { SMALL, model } from "./fixtures";

describe("depths", () => {
  it("is the longest path from a root", () => {
    const d = depths(SMALL);
    expect(Object.fromEntries(d)).toEqual({ base: 0, p1: 1, p1ft: 2, q1: 1, st: 2 });
  });
  it("ignores parents missing from the list", () => {
    const d = depths([model("a", "prune.magnitude", [{ id: "gone" }])]);
    expect(d.get("a")).toBe(0);
  });
  it("survives a cycle", () => {
    const d = depths([model("a", "x", [{ id: "b" }]), model("b", "y", [{ id: "a" }])]);
    expect(d.size).toBe(2);
  });
});

describe("layoutDag by step", () => {
  it("puts each model in the column of its depth", () => {
    const l = layoutDag(SMALL, "step");
    expect(l.columns.map((c) => c.label)).toEqual(["step 0", "step 1", "step 2"]);
    expect(l.nodes.get("p1ft")!.col).toBe(2);
    expect(l.nodes.get("st")!.col).toBe(2);
  });
  it("keeps the first child on its parent's row and stacks siblings below", () => {
    const l = layoutDag(SMALL, "step");
    const row = (id: string) => l.nodes.get(id)!.row;
    expect(row("base")).toBe(0);
    expect(row("p1")).toBe(0); // first child by column then name
    expect(row("p1ft")).toBe(0);
    expect(row("q1")).toBe(1);
    expect(row("st")).toBe(1); // student of q1; the teacher edge does not move it
    expect(l.rows).toBe(2);
  });
  it("draws one edge per parent, teacher included", () => {
    const l = layoutDag(SMALL, "step");
    expect(l.edges).toHaveLength(5);
    expect(l.edges.find((e) => e.target === "st" && e.source === "base")!.role).toBe("teacher");
  });
});

describe("layoutDag by operation", () => {
  it("makes one column per operation, ordered by mean depth then name", () => {
    const l = layoutDag(SMALL, "operation");
    expect(l.columns.map((c) => c.key)).toEqual([
      "base",
      "prune.magnitude",
      "quantize.dynamic_int8",
      "train.distill",
      "train.finetune",
    ]);
    expect(l.nodes.get("p1ft")!.col).toBe(4);
  });
  it("places every model exactly once, rows unique per root", () => {
    const two = [...SMALL, model("root2", null), model("kid2", "prune.magnitude", [{ id: "root2" }])];
    const l = layoutDag(two, "operation");
    expect(l.nodes.size).toBe(7);
    expect(l.nodes.get("root2")!.row).toBe(2);
    expect(l.nodes.get("kid2")!.row).toBe(2);
    const keys = [...l.nodes.values()].map((n) => `${n.col}:${n.row}`);
    expect(new Set(keys).size).toBe(keys.length); // no two nodes on one spot
  });
  it("puts standalone models in the top rows, above the trees, not in the bottom corner", () => {
    // the demo: a trained forest listed first, then two bases nothing was derived from
    const ms = [...SMALL, model("cnn-base", null), model("resnet-base", null)];
    for (const mode of ["operation", "step"] as const) {
      const l = layoutDag(ms, mode);
      const row = (id: string) => l.nodes.get(id)!.row;
      expect([row("cnn-base"), row("resnet-base")]).toEqual([0, 1]);
      expect(row("base")).toBe(2);
      expect(Math.min(...SMALL.map((m) => row(m.id)))).toBe(2);
      expect(l.rows).toBe(4);
      expect(l.nodes.get("cnn-base")!.col).toBe(0);
    }
  });
  it("keeps a root that only teaches with the trees", () => {
    const ms = [model("a", null), model("t", null), model("s", "train.distill", [{ id: "a" }, { id: "t", role: "teacher" }])];
    const order = orderRoots(ms.slice(0, 2), layoutDag(ms, "step").edges).map((m) => m.id);
    expect(order).toEqual(["a", "t"]);
    const lone = orderRoots([model("a", null), model("z", null)], [{ source: "a", target: "x", role: "parent", op: "" }]);
    expect(lone.map((m) => m.id)).toEqual(["z", "a"]);
  });
  it("handles an empty workspace", () => {
    const l = layoutDag([], "operation");
    expect(l.columns).toEqual([]);
    expect(l.rows).toBe(0);
  });
  it("scales to 1,000 models quickly", () => {
    const many = [model("r", null)];
    for (let i = 1; i < 1000; i++) many.push(model(`m${i}`, i % 2 ? "prune.magnitude" : "quantize.x", [{ id: i < 10 ? "r" : `m${Math.floor(i / 10)}` }]));
    const t0 = performance.now();
    const l = layoutDag(many, "operation");
    expect(l.nodes.size).toBe(1000);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
