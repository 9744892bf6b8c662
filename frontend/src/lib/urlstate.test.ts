import { describe, expect, it } from "vitest";
import { EMPTY_STATE, decodeState, encodeState, restoresView, type ViewState } from "./urlstate";

describe("URL state", () => {
  const full: ViewState = {
    selected: ["a1", "b2"],
    base: "a1",
    x: "model/compressed_bytes",
    y: "fashion-mnist-test/accuracy",
    color: "fashion-mnist-test/accuracy",
    size: "model/parameters",
    layout: "step",
    view: "pies",
    filters: { "fashion-mnist-test/accuracy": [0.8, 0.9], "model/macs": [0, 1e6] },
    params: { "pies.baseline": "op:train.scratch", "pies.compressed": "tag:stage:magnitude&x=1" },
  };

  it("round-trips every field", () => {
    expect(decodeState(encodeState(full))).toEqual(full);
  });
  it("keeps filters readable", () => {
    expect(encodeState({ ...EMPTY_STATE, filters: { "d/accuracy": [0.85, 1] } })).toBe("filter=d/accuracy:0.85:1");
  });
  it("drops an unknown view and malformed filters", () => {
    const s = decodeState("view=No%20pe&filter=a/b:1:0,x/y:zz:1,model/macs:0:5");
    expect(s.view).toBe("behaviours");
    expect(s.filters).toEqual({ "model/macs": [0, 5] });
  });
  it("keeps commas and slashes readable", () => {
    expect(encodeState({ ...EMPTY_STATE, selected: ["a", "b"], x: "model/macs" })).toBe("sel=a,b&x=model/macs");
  });
  it("accepts a leading question mark", () => {
    expect(decodeState("?" + encodeState(full))).toEqual(full);
  });
  it("leaves defaults out of the query string", () => {
    expect(encodeState(EMPTY_STATE)).toBe("");
    expect(decodeState("")).toEqual(EMPTY_STATE);
  });
  it("escapes metric keys with slashes and odd characters", () => {
    const s = { ...EMPTY_STATE, x: "my data/top 5&x" };
    expect(encodeState(s)).not.toContain("&x");
    expect(decodeState(encodeState(s)).x).toBe("my data/top 5&x");
  });
  it("drops empty and duplicate ids and unknown layouts", () => {
    const s = decodeState("sel=a,,b,a&layout=sideways");
    expect(s.selected).toEqual(["a", "b"]);
    expect(s.layout).toBe("operation");
  });

  it("scrolls to the analysis views when a link restores a view or a selection", () => {
    expect(restoresView(`?${encodeState(full)}`)).toBe(true);
    expect(restoresView("?view=layers")).toBe(true);
    expect(restoresView("sel=a1")).toBe(true);
    // the default view, restored with its selection, is revealed too
    expect(restoresView(`?${encodeState({ ...EMPTY_STATE, selected: ["a1"] })}`)).toBe(true);
  });
  it("keeps a plain link at the top, with the map", () => {
    expect(restoresView("")).toBe(false);
    expect(restoresView(`?${encodeState({ ...EMPTY_STATE, base: "a1", layout: "step" })}`)).toBe(false);
    expect(restoresView("?sel=,")).toBe(false);
  });
});
