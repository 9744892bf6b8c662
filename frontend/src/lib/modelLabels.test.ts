import { describe, expect, it } from "vitest";
import { apiModel } from "./fixtures";
import { labelOf, modelLabels } from "./modelLabels";
import type { ApiModel } from "./types";

/** A demo-like derived model: its name, operation, parameters and seed. */
function derived(id: string, name: string, op: string, params: Record<string, unknown>, seed = 0): ApiModel {
  return apiModel({ id, name, operation: { name: op, params, parents: [{ id: "root" }], seed } });
}

const common = { include_types: ["Linear", "Conv2d"], scope: "global" };
const m50 = derived("302456ba", "magnitude[amount=0.5]-s0#302456", "prune.magnitude", { ...common, amount: 0.5 });
const m80 = derived("f4f57f1b", "magnitude[amount=0.8]-s0#f4f57f", "prune.magnitude", { ...common, amount: 0.8 });
const m95 = derived("bcaa6053", "magnitude[amount=0.95]-s0#bcaa60", "prune.magnitude", { ...common, amount: 0.95 });
const int8 = derived("481b0abe", "int8-s0#481b0a", "quantize.dynamic_int8", { include_types: ["Linear"] });
const root = apiModel({ id: "dae941b7", name: "lean_cnn-s0#dae941" });

describe("model labels", () => {
  it("names the parameter that differs when only it differs", () => {
    const labels = modelLabels([m50, m80, m95]);
    expect([...labels.values()]).toEqual(["amount 0.5", "amount 0.8", "amount 0.95"]);
  });

  it("names the operation when operations differ, with the parameters that differ within it", () => {
    const labels = modelLabels([m50, m80, int8]);
    expect(labels.get(m50.id)).toBe("magnitude · amount 0.5");
    expect(labels.get(m80.id)).toBe("magnitude · amount 0.8");
    expect(labels.get(int8.id)).toBe("dynamic_int8");
  });

  it("names the seed when only seeds differ", () => {
    const other = derived("38fd5fb1", "magnitude[amount=0.8]-s1#38fd5f", "prune.magnitude", { ...common, amount: 0.8 }, 1);
    expect([...modelLabels([m80, other]).values()]).toEqual(["s0", "s1"]);
  });

  it("names a root, a model alone, or one with nothing that differs, by its full name", () => {
    const labels = modelLabels([root, m80]);
    expect(labels.get(root.id)).toBe("lean_cnn-s0#dae941");
    expect(labels.get(m80.id)).toBe("magnitude");
    expect(modelLabels([m80]).get(m80.id)).toBe("magnitude[amount=0.8]-s0#f4f57f");
  });

  it("keeps labels unique with the id's first characters", () => {
    // the same recipe on two parents: nothing in the operation tells them apart
    const a = derived("5ba759bd", "finetuned[amount=0.5]-s0#5ba759", "train.finetune", { lr: 0.001 });
    const b = derived("e2462dfc", "finetuned[amount=0.8]-s0#e2462d", "train.finetune", { lr: 0.001 });
    const labels = modelLabels([a, b]);
    expect(labels.get(a.id)).toBe("finetuned[amount=0.5]-s0#5ba759");
    expect(labels.get(b.id)).toBe("finetuned[amount=0.8]-s0#e2462d");
    const twin = apiModel({ id: "aaaaaa11", name: "x", operation: { name: "cast.fp16", params: {} } });
    const twin2 = apiModel({ id: "bbbbbb22", name: "x", operation: { name: "cast.fp16", params: {} } });
    expect([...modelLabels([twin, twin2]).values()]).toEqual(["x #aaaaaa", "x #bbbbbb"]);
  });

  it("does not depend on the order of the set", () => {
    const forward = modelLabels([m50, int8, m95]);
    const backward = modelLabels([m95, int8, m50]);
    for (const id of [m50.id, int8.id, m95.id]) expect(backward.get(id)).toBe(forward.get(id));
  });

  it("lists values of any kind readably and answers the fallback for a model outside the set", () => {
    const a = derived("a1", "a", "prune.nm", { exclude: ["block1.conv"], n: 2 });
    const b = derived("b1", "b", "prune.nm", { exclude: [], n: null });
    const labels = modelLabels([a, b]);
    expect(labels.get("a1")).toBe("exclude block1.conv · n 2");
    expect(labels.get("b1")).toBe("exclude  · n none");
    expect(labelOf(labels, "zz", "full name")).toBe("full name");
  });
});
