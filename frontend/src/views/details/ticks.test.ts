import { describe, expect, it } from "vitest";
import { charsFitting, slantedDepth, wrapLabel, wrapsWhole } from "./ticks";

describe("wrapLabel", () => {
  it("breaks after separators and keeps every character", () => {
    const text = "prune.magnitude → quantize.dynamic_int8";
    const lines = wrapLabel(text, 12);
    expect(lines.join("")).toBe(text);
    expect(lines.every((l) => l.trimEnd().length <= 12)).toBe(true);
    expect(lines[0]).toBe("prune.");
  });
  it("keeps a label that fits on one line", () => {
    expect(wrapLabel("0.95", 10)).toEqual(["0.95"]);
    expect(wrapLabel("", 10)).toEqual([""]);
  });
  it("cuts inside a word only when the word alone is too long, never with an ellipsis", () => {
    const lines = wrapLabel("magnitudeglobal", 6);
    expect(lines).toEqual(["magnit", "udeglo", "bal"]);
    expect(lines.join("")).not.toContain("…");
  });
});

describe("charsFitting", () => {
  it("fits about one character per 5.8 px, three at least", () => {
    expect(charsFitting(58)).toBe(10);
    expect(charsFitting(5)).toBe(3);
  });
});

describe("wrapsWhole", () => {
  it("says whether every word fits a line, so no word is cut", () => {
    expect(wrapsWhole("(none) · ancestor", 8)).toBe(true);
    expect(wrapsWhole("(none) · ancestor", 6)).toBe(false);
    expect(wrapsWhole("", 3)).toBe(true);
  });
  it("gives the depth a turned label needs", () => {
    expect(slantedDepth(10, 90)).toBe(Math.ceil(58) + 6);
    expect(slantedDepth(0, 40)).toBe(6);
  });
});
