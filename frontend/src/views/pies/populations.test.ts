import { describe, expect, it } from "vitest";
import { apiModel } from "../../lib/fixtures";
import type { ApiModel } from "../../lib/types";
import { defaultStudy, populationStudies, previewMatches, seedPopulations, selectorFor } from "./populations";

function m(id: string, op: string | null, params: Record<string, unknown>, parent: string | null, seed: number | null, tags: string[] = []): ApiModel {
  return apiModel({ id, operation: op ? { name: op, params, parents: parent ? [{ id: parent }] : [], seed } : null, tags });
}

/** Three seeds trained from scratch; each pruned at 0.5 and 0.8 (global), one also locally;
 * an int8 copy of each; an int8 copy of a pruned model; an imported model and its int8. */
const WS: ApiModel[] = [
  ...[0, 1, 2].flatMap((s) => [
    m(`s${s}`, "train.scratch", { epochs: 2 }, null, s),
    m(`s${s}p5`, "prune.magnitude", { amount: 0.5, scope: "global", include: ["*"] }, `s${s}`, s, ["stage:magnitude"]),
    m(`s${s}p8`, "prune.magnitude", { amount: 0.8, scope: "global", include: ["*"] }, `s${s}`, s, ["stage:magnitude"]),
    m(`s${s}q`, "quantize.dynamic_int8", { backend: "x" }, `s${s}`, s, ["stage:int8"]),
  ]),
  m("s0p5l", "prune.magnitude", { amount: 0.5, scope: "local", include: ["*"] }, "s0", 0),
  m("s0p5q", "quantize.dynamic_int8", { backend: "x" }, "s0p5", 0),
  m("imp", null, {}, null, null),
  m("impq", "quantize.dynamic_int8", { backend: "x" }, "imp", 0),
];

describe("seedPopulations", () => {
  const pops = seedPopulations(WS);
  it("groups models that differ by seed only (same operation, parameters and parent population)", () => {
    expect(pops.map((p) => [p.label, p.ids])).toEqual([
      ["train.scratch × 3 seeds", ["s0", "s1", "s2"]],
      ["prune.magnitude amount 0.5, scope global × 3 seeds", ["s0p5", "s1p5", "s2p5"]],
      ["prune.magnitude amount 0.8, scope global × 3 seeds", ["s0p8", "s1p8", "s2p8"]],
      ["quantize.dynamic_int8 × 3 seeds", ["s0q", "s1q", "s2q"]],
    ]);
  });
  it("gives each a selector that picks exactly its models: the operation's varying parameters, else a tag", () => {
    expect(pops.map((p) => p.selector)).toEqual([
      "op:train.scratch",
      "op:prune.magnitude&amount=0.5&scope=global",
      "op:prune.magnitude&amount=0.8&scope=global",
      "tag:stage:int8", // int8 of a pruned and of an imported model share the operation
    ]);
  });
  it("falls back to the ids when no readable selector is exact", () => {
    expect(selectorFor(WS, ["s0q", "impq"], "quantize.dynamic_int8", { backend: "x" })).toBe("s0q,impq");
  });
});

describe("previewMatches", () => {
  it("reads op:, tag: and key=value terms, the value compared as text without case", () => {
    const pruned = WS.find((x) => x.id === "s0p5")!;
    expect(previewMatches(pruned, ["op:prune.magnitude", "amount=0.5", "scope=GLOBAL"])).toBe(true);
    expect(previewMatches(pruned, ["tag:stage:magnitude", "amount=0.8"])).toBe(false);
    expect(previewMatches(pruned, ["teacher=x"])).toBe(false);
  });
});

describe("populationStudies and defaultStudy", () => {
  const studies = populationStudies(WS);
  it("finds the sweep over the parameter a baseline's populations differ in, and one-level studies", () => {
    expect(studies.map((s) => [s.baseline.label, s.by, s.levels.length, s.label, s.selector])).toEqual([
      ["train.scratch × 3 seeds", "amount", 2, "prune.magnitude scope global by amount: 2 levels × 3 seeds", "op:prune.magnitude&scope=global"],
      ["train.scratch × 3 seeds", "", 1, "quantize.dynamic_int8 × 3 seeds", "tag:stage:int8"],
    ]);
  });
  it("opens on the study holding most of the selection, else the one with most levels", () => {
    expect(defaultStudy(studies, [])?.by).toBe("amount");
    expect(defaultStudy(studies, ["s0q", "s1q"])?.levels[0].op).toBe("quantize.dynamic_int8");
    expect(defaultStudy(studies, ["s0", "s0q", "s0p5", "s0p8"])?.by).toBe("amount");
    expect(defaultStudy([], ["s0"])).toBeNull();
  });
});
