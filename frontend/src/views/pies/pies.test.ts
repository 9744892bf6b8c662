import { describe, expect, it } from "vitest";
import { apiModel } from "../../lib/fixtures";
import type { ApiModel } from "../../lib/types";
import {
  accuracyBars,
  byOptions,
  classRows,
  baselineCandidates,
  defaultBaseline,
  defaultBy,
  defaultCompressed,
  formatP,
  levelLabel,
  levelText,
  pageInfo,
  pct,
  presetGroups,
  selectorPresets,
  tSign,
  type PieLevel,
} from "./pies";

function m(id: string, op: string | null, params: Record<string, unknown> = {}, tags: string[] = [], parents: string[] = []): ApiModel {
  return apiModel({
    id,
    name: `${id}-name`,
    operation: op ? { name: op, params, parents: parents.map((p) => ({ id: p })) } : null,
    tags,
  });
}

/** Two seeds trained from scratch, each pruned to 50% and 90%, plus an int8 copy of each. */
const WS: ApiModel[] = [
  m("s0aaaa", "train.scratch", { epochs: 2 }, ["seed:0", "demo"]),
  m("s1bbbb", "train.scratch", { epochs: 2 }, ["seed:1", "demo"]),
  m("p050", "prune.magnitude", { amount: 0.5, scope: "global" }, ["seed:0", "demo", "stage:magnitude"], ["s0aaaa"]),
  m("p090", "prune.magnitude", { amount: 0.9, scope: "global" }, ["seed:0", "demo", "stage:magnitude"], ["s0aaaa"]),
  m("p150", "prune.magnitude", { amount: 0.5, scope: "global" }, ["seed:1", "demo", "stage:magnitude"], ["s1bbbb"]),
  m("p190", "prune.magnitude", { amount: 0.9, scope: "global" }, ["seed:1", "demo", "stage:magnitude"], ["s1bbbb"]),
  m("q0", "quantize.dynamic_int8", {}, ["seed:0", "demo", "stage:int8"], ["s0aaaa"]),
  m("q1", "quantize.dynamic_int8", {}, ["seed:1", "demo", "stage:int8"], ["s1bbbb"]),
];
const pick = (...names: string[]) => names.map((id) => WS.find((x) => x.id === id)!);

describe("presets and defaults", () => {
  it("lists the selection, then seed populations and sweeps by name, then tags", () => {
    const presets = selectorPresets(WS, ["p050", "p090"]);
    expect(presets[0]).toEqual({ value: "p050,p090", label: "selected models (2)", count: 2, group: "selection" });
    const byLabel = new Map(presets.map((p) => [p.label, p.value]));
    // these models carry no seed: "× 2 models"
    expect(byLabel.get("train.scratch × 2 models")).toBe("op:train.scratch");
    expect(byLabel.get("prune.magnitude amount 0.9 × 2 models")).toBe("op:prune.magnitude&amount=0.9");
    expect(byLabel.get("quantize.dynamic_int8 × 2 models")).toBe("op:quantize.dynamic_int8");
    expect(byLabel.get("prune.magnitude by amount: 2 levels")).toBe("op:prune.magnitude");
    expect(byLabel.get("stage:int8 (2 models)")).toBe("tag:stage:int8");
    // named, never a raw selector
    expect(presets.filter((p) => /^(op|tag):|&/.test(p.label))).toEqual([]);
    expect(selectorPresets(WS, []).some((p) => p.label.startsWith("selected"))).toBe(false);
  });
  it("groups the presets in the order their groups first appear", () => {
    const groups = presetGroups(selectorPresets(WS, ["q0"]));
    expect(groups.map(([g]) => g)).toEqual(["selection", "seed populations", "sweeps", "tags"]);
  });
  it("defaults to scratch-trained baselines and the most common stage of their children", () => {
    expect(baselineCandidates(WS, null)).toEqual(["op:train.scratch"]);
    expect(defaultBaseline([["op:train.scratch", 2]])).toBe("op:train.scratch");
    const scratch = new Set(["s0aaaa", "s1bbbb"]); // what the server answers for op:train.scratch
    expect(defaultCompressed(WS, [], scratch)).toBe("tag:stage:magnitude");
    // a selection of 2+ models outside the baseline wins
    expect(defaultCompressed(WS, ["q0", "q1", "s0aaaa"], scratch)).toBe("q0,q1");
    expect(defaultCompressed(WS, ["q0", "s0aaaa"], scratch)).toBe("tag:stage:magnitude");
  });
  it("falls back to the base's operation, or nothing", () => {
    expect(baselineCandidates(WS, "q0")).toEqual(["op:train.scratch", "op:quantize.dynamic_int8"]);
    expect(defaultBaseline([["op:train.scratch", 0], ["op:quantize.dynamic_int8", 2]])).toBe("op:quantize.dynamic_int8");
    expect(defaultBaseline([["op:train.scratch", 1]])).toBe("");
    expect(defaultCompressed(WS, [], new Set())).toBe("");
  });
  it("offers parameters every compressed model has, varying ones first, and picks amount", () => {
    const pruned = pick("p050", "p090", "p150", "p190");
    expect(byOptions(pruned)).toEqual([
      { name: "amount", values: ["0.5", "0.9"] },
      { name: "scope", values: ['"global"'] },
    ]);
    expect(defaultBy(pruned)).toBe("amount");
    expect(defaultBy(pick("q0", "q1"))).toBe("");
    expect(byOptions([])).toEqual([]);
  });
  it("does not split when a level would hold a single model", () => {
    expect(defaultBy(pick("p050", "p090"))).toBe("");
  });
  it("tells apart levels the server tells apart (0.5 and \"0.5\")", () => {
    const mixed = [...pick("p050", "p150"), m("t", "prune.magnitude", { amount: "0.5", scope: "global" }), m("u", "prune.magnitude", { amount: "0.5", scope: "global" })];
    expect(byOptions(mixed)[0]).toEqual({ name: "amount", values: ["0.5", '"0.5"'] });
  });
});

const level = (amount: number, pies: number, impacted: boolean[]): PieLevel => ({
  level: { amount },
  key: String(amount),
  compressed: ["a", "b"],
  summary: {
    num_instances: 100,
    pie_count: pies,
    pie_share: pies / 100,
    baseline: { all: { mean: 0.9, sd: 0.01 }, pie: { mean: 0.4, sd: 0.05 }, non_pie: { mean: 0.91, sd: 0.01 } },
    compressed: { all: { mean: 0.8, sd: 0.02 }, pie: { mean: 0.2, sd: null }, non_pie: { mean: 0.85, sd: 0.02 } },
    gap: { all: -0.1, pie: -0.2, non_pie: -0.06 },
  },
  impacted_classes: impacted.filter(Boolean).length,
  warnings: [],
  classes: impacted.map((x, c) => ({
    class: `c${c}`,
    t: c + 0.5,
    p_value: x ? 0.01 : 0.5,
    p_adjusted: null,
    normalized_recall_change: 0,
    impacted: x,
  })),
});

describe("shaping the answer", () => {
  it("names levels for the charts (the server gives each level the key that addresses it)", () => {
    expect(levelLabel({ amount: "0.8" })).toBe("amount 0.8");
    expect(levelLabel({ amount: 0.8 })).toBe("amount 0.8");
    expect(levelLabel({ per_channel: false })).toBe("per_channel false");
    expect(levelLabel(null)).toBe("all compressed");
    expect(levelText(0.95)).toBe("0.95");
    expect(levelText("global")).toBe("global");
    expect(levelText(null)).toBe("");
  });
  it("gives four accuracy bars per level: each population on PIEs and the rest", () => {
    const bars = accuracyBars(level(0.5, 3, [false, false]));
    expect(bars.map((b) => b.series)).toEqual(["baseline-pie", "baseline-non_pie", "compressed-pie", "compressed-non_pie"]);
    expect(bars.map((b) => b.mean)).toEqual([0.4, 0.91, 0.2, 0.85]);
    expect(bars[2].sd).toBeNull();
  });
  it("lays out classes as rows with one cell per level", () => {
    const rows = classRows([level(0.5, 3, [false, false]), level(0.9, 9, [false, true])], ["c0", "c1"]);
    expect(rows.map((r) => r.name)).toEqual(["c0", "c1"]);
    expect(rows[1].cells.map((c) => c.impacted)).toEqual([false, true]);
    expect(rows.map((r) => r.impactedAnywhere)).toEqual([false, true]);
  });
  it("pages with prev/next offsets that stop at both ends", () => {
    expect(pageInfo(0, 40, 128)).toEqual({ from: 1, to: 40, page: 1, pages: 4, prev: null, next: 40 });
    expect(pageInfo(120, 40, 128)).toEqual({ from: 121, to: 128, page: 4, pages: 4, prev: 80, next: null });
    expect(pageInfo(0, 40, 0)).toEqual({ from: 0, to: 0, page: 1, pages: 1, prev: null, next: null });
    expect(pageInfo(10, 40, 128).prev).toBe(0);
  });
  it("formats p values and percentages", () => {
    expect(formatP(0.04321)).toBe("0.043");
    expect(formatP(0.00001234)).toBe("1.2e-5");
    expect(formatP(null)).toBe("–");
    expect(pct(0.1821)).toBe("18.2%");
    expect(pct(null)).toBe("–");
  });
});

describe("tSign", () => {
  it("names a gain (t > 0) and a loss (t < 0); nothing for 0 or no value", () => {
    expect([tSign(2.1), tSign(-0.3), tSign(0), tSign(null), tSign(Number.NaN)]).toEqual(["gain", "loss", "", "", ""]);
  });
});
