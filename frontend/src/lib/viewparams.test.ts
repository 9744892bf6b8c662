import { describe, expect, it } from "vitest";
import { listParam, paramChoice, paramIndex, paramList, paramNumber } from "./viewparams";

describe("view params from a shared link", () => {
  it("accepts only known choices", () => {
    expect(paramChoice("bh", ["none", "bh"] as const)).toBe("bh");
    expect(paramChoice("xx", ["none", "bh"] as const)).toBeNull();
    expect(paramChoice(undefined, ["none"] as const)).toBeNull();
  });
  it("reads numbers, optionally from a fixed set", () => {
    expect(paramNumber("0.95")).toBe(0.95);
    expect(paramNumber("abc")).toBeNull();
    expect(paramNumber("")).toBeNull();
    expect(paramNumber("Infinity")).toBeNull();
    expect(paramNumber("0.9", [0.9, 0.95])).toBe(0.9);
    expect(paramNumber("0.5", [0.9, 0.95])).toBeNull();
  });
  it("reads indices in range", () => {
    expect(paramIndex("12", 100)).toBe(12);
    expect(paramIndex("100", 100)).toBeNull();
    expect(paramIndex("-1")).toBeNull();
    expect(paramIndex("1.5")).toBeNull();
  });
  it("keeps known list entries in canonical order", () => {
    expect(paramList("contrast,gaussian_noise,bogus", ["gaussian_noise", "defocus_blur", "contrast"])).toEqual([
      "gaussian_noise",
      "contrast",
    ]);
    expect(paramList("bogus", ["a"])).toBeNull();
    expect(paramList("b,a,b")).toEqual(["b", "a"]);
    expect(paramList("-", ["a"], true)).toEqual([]);
    expect(paramList("-", ["a"])).toBeNull();
  });
  it("encodes lists, leaving the default out", () => {
    expect(listParam([1, 3, 5], [1, 3, 5])).toBe("");
    expect(listParam([1, 5], [1, 3, 5])).toBe("1,5");
    expect(listParam([], [1])).toBe("-");
    expect(paramList(listParam(["a", "c"]), ["a", "b", "c"])).toEqual(["a", "c"]);
  });
});
