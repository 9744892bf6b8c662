import { describe, expect, it } from "vitest";
import {
  attributionCells,
  attributionParams,
  attributionRequest,
  attributionSummary,
  attributionUrl,
  flipKindFor,
  whichLayersParams,
  type AttributionAnswer,
  type AttributionRow,
} from "./attribution";

const row = (module: string, over: Partial<AttributionRow> = {}): AttributionRow => ({
  module,
  members: [module],
  parameters: 10,
  restorable: true,
  reason: null,
  unchanged: false,
  undone: 0,
  undone_share: 0,
  created: 0,
  undone_by_class: {},
  ...over,
});

const answer = (over: Partial<AttributionAnswer> = {}): AttributionAnswer => ({
  flips: 67,
  not_reproduced: 0,
  target: 0.9,
  rows: [
    row("hidden", { undone: 50, undone_share: 50 / 67, created: 2 }),
    row("block1.conv", { undone: 10, undone_share: 10 / 67 }),
    row("bn", { unchanged: true }),
    row("block2.conv", { restorable: false, reason: "shape changed: (8, 4) vs (16, 4)" }),
  ],
  greedy: [
    { module: "hidden", undone: 50, cumulative_share: 50 / 67, created: 2 },
    { module: "block1.conv", undone: 61, cumulative_share: 61 / 67, created: 3 },
  ],
  reached: true,
  by_class: [],
  cost: { flips: 67, control: 256, evaluations: 5, forward_instances: 1000, seconds: 1, seconds_per_group: 0.2, seconds_per_flip: 0.01 },
  context: { base: "b", model: "m", dataset: "d", flip_kind: "correct_to_incorrect", class: null, class_names: ["T-shirt", "Shirt"], groups: "modules" },
  ...over,
});

describe("attribution request from the URL", () => {
  it("asks for nothing without lay.attr", () => {
    expect(attributionRequest({})).toBeNull();
  });
  it("reads the class, the flip kind and the model, and writes them back", () => {
    const params = { "lay.attr": "Shirt", "lay.attr.flips": "any", "lay.attr.model": "m1" };
    const req = attributionRequest(params);
    expect(req).toEqual({ class_: "Shirt", flips: "any", model: "m1" });
    expect(attributionParams(req)).toEqual(params);
  });
  it("'all' means every class, and correct → incorrect is the default kind", () => {
    const req = attributionRequest({ "lay.attr": "all", "lay.attr.flips": "bogus" });
    expect(req).toEqual({ class_: null, flips: "correct_to_incorrect", model: null });
    expect(attributionParams(req)).toEqual({ "lay.attr": "all", "lay.attr.flips": "", "lay.attr.model": "" });
    expect(attributionParams(null)).toEqual({ "lay.attr": "", "lay.attr.flips": "", "lay.attr.model": "" });
  });
  it("a drill-down filter other than correct → incorrect asks for any flip", () => {
    expect(flipKindFor("correct_to_incorrect")).toBe("correct_to_incorrect");
    expect(flipKindFor(undefined)).toBe("correct_to_incorrect");
    expect(flipKindFor("incorrect_to_correct")).toBe("any");
    expect(flipKindFor("any")).toBe("any");
  });
  it("a Which layers? link asks for the class, any flip for a filter other than correct → incorrect, and the model", () => {
    expect(whichLayersParams("Shirt", null, "m80")).toEqual({ "lay.attr": "Shirt", "lay.attr.flips": "", "lay.attr.model": "m80" });
    expect(whichLayersParams("Shirt", "changed", "m80")).toEqual({ "lay.attr": "Shirt", "lay.attr.flips": "any", "lay.attr.model": "m80" });
  });
  it("the URL names the class only when one is asked for", () => {
    expect(attributionUrl("b", "m", null, { class_: null, flips: "correct_to_incorrect", model: null })).toBe(
      "api/attribution?base=b&model=m&flips=correct_to_incorrect",
    );
    expect(attributionUrl("b", "m", "d", { class_: "Shirt", flips: "any", model: null })).toBe(
      "api/attribution?base=b&model=m&dataset=d&flips=any&class=Shirt",
    );
  });
});

describe("attribution cells", () => {
  const cells = attributionCells(answer());
  it("show the undone share, marking the greedy set", () => {
    expect(cells.get("hidden")).toMatchObject({ kind: "share", text: "74.6% ●", share: 50 / 67, greedy: true });
    expect(cells.get("hidden")!.title).toBe("restoring it alone undoes 50 of 67 flips; it creates 2 on 256 unchanged instances");
  });
  it("say 'unchanged' for a module holding the base's weights and '—' with the reason for one that cannot be restored", () => {
    expect(cells.get("bn")).toMatchObject({ kind: "unchanged", text: "unchanged", share: null, greedy: false });
    expect(cells.get("block2.conv")).toMatchObject({ kind: "unrestorable", text: "—", share: null });
    expect(cells.get("block2.conv")!.title).toContain("shape changed: (8, 4) vs (16, 4)");
  });
});

describe("attribution summary", () => {
  it("names the count, the kind, the greedy set and its cumulative share", () => {
    expect(attributionSummary(answer(), "m80")).toBe(
      "67 correct → incorrect flips of m80: restoring ● hidden, block1.conv together undoes 91.0%.",
    );
  });
  it("names the class and says when the target is not reached", () => {
    const a = answer({ reached: false, context: { ...answer().context, class: 1, flip_kind: "any" } });
    expect(attributionSummary(a, "m80")).toBe(
      "67 changed flips of class “Shirt” of m80: restoring ● hidden, block1.conv together undoes 91.0% (short of the 90.0% target).",
    );
  });
  it("says when there is nothing to attribute", () => {
    expect(attributionSummary(answer({ flips: 0, greedy: [] }), "m")).toBe("0 correct → incorrect flips of m: nothing to attribute.");
    expect(attributionSummary(answer({ greedy: [] }), "m")).toBe("67 correct → incorrect flips of m: no restorable module undoes any of them.");
  });
});
