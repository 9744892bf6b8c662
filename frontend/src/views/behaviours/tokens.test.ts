import { describe, expect, it } from "vitest";
import {
  agreementOf,
  entryRuns,
  generationStates,
  kldCeiling,
  kldColour,
  pageOf,
  sortedFlips,
  visibleToken,
  type TokenFlipsAnswer,
  type TokenTextAnswer,
} from "./tokens";

const KINDS = ["same", "correct_to_incorrect", "incorrect_to_correct"];
const named = (id: string) => ({ id, name: id });
const counts = { tokens: 5, same_top_rate: 0.6, kld_mean: 0.1, correct_to_incorrect: 1, incorrect_to_correct: 1 };

function textAnswer(entries: number[], offset = 10): TokenTextAnswer {
  const n = entries.length;
  return {
    base: named("b"),
    model: named("m"),
    dataset: named("d"),
    offset,
    limit: 2000,
    flip_kinds: KINDS,
    summary: counts,
    page: {
      token: entries.map((_, i) => `t${i}`),
      entry: entries,
      position: entries.map((_, i) => i),
      same_top: [true, false, false, true, true].slice(0, n),
      flip: [0, 1, 0, 2, 0].slice(0, n),
      kld: [0, 0.5, 0.2, 0.1, 0].slice(0, n),
      delta_p: Array(n).fill(0),
      base_margin: Array(n).fill(0.1),
      base_top1: Array(n).fill("a"),
      model_top1: Array(n).fill("b"),
    },
  };
}

describe("agreementOf", () => {
  it("names a flip by its kind whatever the same-top flag, else same or changed", () => {
    expect(agreementOf(false, 1, KINDS)).toBe("correct_to_incorrect");
    expect(agreementOf(false, 2, KINDS)).toBe("incorrect_to_correct");
    expect(agreementOf(true, 0, KINDS)).toBe("same");
    expect(agreementOf(false, 0, KINDS)).toBe("changed");
  });
});

describe("kldColour", () => {
  it("is white at 0 and dark red at the ceiling and beyond", () => {
    expect(kldColour(0, 1)).toBe("rgb(255, 255, 255)");
    expect(kldColour(1, 1)).toBe("rgb(178, 24, 43)");
    expect(kldColour(5, 1)).toBe("rgb(178, 24, 43)");
    expect(kldColour(Number.NaN, 1)).toBe("rgb(255, 255, 255)");
  });
  it("darkens on a square-root ramp: a quarter of the ceiling is half way", () => {
    expect(kldColour(0.25, 1)).toBe("rgb(217, 140, 149)");
  });
});

describe("kldCeiling", () => {
  it("takes the 99th percentile so one outlier does not wash the page out", () => {
    const values = [...Array(199).fill(0.1), 100];
    expect(kldCeiling(values)).toBe(0.1);
  });
  it("keeps a floor so an identical model stays white", () => {
    expect(kldCeiling([0, 0, 0])).toBe(1e-3);
    expect(kldCeiling([])).toBe(1e-3);
  });
});

describe("entryRuns", () => {
  it("groups consecutive tokens of one entry, with stream indices from the offset", () => {
    const runs = entryRuns(textAnswer([3, 3, 4, 4, 4]));
    expect(runs.map((r) => [r.entry, r.tokens.map((t) => t.index)])).toEqual([
      [3, [10, 11]],
      [4, [12, 13, 14]],
    ]);
    expect(runs[0].tokens[1].agreement).toBe("correct_to_incorrect");
    expect(runs[1].tokens[0].agreement).toBe("changed");
    expect(runs[1].tokens[1].agreement).toBe("incorrect_to_correct");
  });
  it("starts a new run when an entry comes back (never merges distant runs)", () => {
    expect(entryRuns(textAnswer([1, 2, 1])).map((r) => r.entry)).toEqual([1, 2, 1]);
  });
});

describe("visibleToken", () => {
  it("shows whitespace-only tokens and keeps text with spaces as is", () => {
    expect(visibleToken(" ")).toBe("·");
    expect(visibleToken("\n")).toBe("↵");
    expect(visibleToken(" the")).toBe(" the");
    expect(visibleToken("")).toBe("∅");
  });
});

describe("sortedFlips", () => {
  const flips: TokenFlipsAnswer["flips"] = {
    index: [4, 9, 20, 31],
    kind: ["correct_to_incorrect", "incorrect_to_correct", "correct_to_incorrect", "correct_to_incorrect"],
    base_margin: [0.5, 0.1, 0.05, 0.5],
    kld: [1, 2, 3, 4],
    delta_p: [-0.5, 0.2, -0.1, -0.3],
    token: ["a", "b", "c", "d"],
    base_top1: ["a", "x", "c", "d"],
    model_top1: ["z", "b", "y", "y"],
    context: ["", "", "", ""],
  };
  it("sorts by a column, ties in stream order", () => {
    expect(sortedFlips(flips, "base_margin", false)).toEqual([2, 1, 0, 3]);
    expect(sortedFlips(flips, "base_margin", true)).toEqual([0, 3, 1, 2]);
    expect(sortedFlips(flips, "kld", true)).toEqual([3, 2, 1, 0]);
  });
  it("keeps one kind only when asked", () => {
    expect(sortedFlips(flips, "index", false, "incorrect_to_correct")).toEqual([1]);
    expect(sortedFlips(flips, "delta_p", false, "correct_to_incorrect")).toEqual([0, 3, 2]);
  });
});

describe("pageOf", () => {
  it("is the start of the page holding a token", () => {
    expect(pageOf(0, 2000)).toBe(0);
    expect(pageOf(1999, 2000)).toBe(0);
    expect(pageOf(2000, 2000)).toBe(2000);
    expect(pageOf(4501, 2000)).toBe(4000);
  });
});

describe("generationStates", () => {
  it("marks exactly the first diverging token, the prefix shared and the rest after", () => {
    expect(generationStates(5, 2)).toEqual(["shared", "shared", "diverged", "after", "after"]);
    expect(generationStates(3, null)).toEqual(["shared", "shared", "shared"]);
    expect(generationStates(2, 0)).toEqual(["diverged", "after"]);
  });
});
