import { describe, expect, it } from "vitest";
import { ANCESTOR, groupStats, mainMetricKeys, metricKeysOf, mixesOperations, NONE, operationsOf, splitByOperation, summarize, type Differences, type Step, type Variable } from "./differences";
import { pick } from "./fixtures-details";

/** A variable as the server answers it (GET /api/differences), levels in display order. */
function variable(key: string, levels: [string, string[]][]): Variable {
  const value_of: Record<string, string> = {};
  for (const [label, ids] of levels) for (const id of ids) value_of[id] = label;
  return { key, label: key, kind: "param", slot: "prune", levels: levels.map(([label, ids]) => ({ label, ids })), value_of, aliases: [] };
}

describe("groupStats", () => {
  const models = pick("s0p5", "s0p8", "s1p5", "s1p8", "s0p5l");
  const amount = variable("prune · amount", [["0.5", ["s0p5", "s1p5", "s0p5l"]], ["0.8", ["s0p8", "s1p8"]]]);
  const scope = variable("prune · scope", [["global", ["s0p5", "s0p8", "s1p5", "s1p8"]], ["local", ["s0p5l"]]]);
  it("averages a metric per level with count and range", () => {
    const groups = groupStats(models, amount, "ds/accuracy");
    expect(groups.map((g) => g.level)).toEqual(["0.5", "0.8"]);
    const b5 = groups[0].bars[0];
    expect(b5.count).toBe(3);
    expect(b5.mean).toBeCloseTo((0.89 + 0.87 + 0.85) / 3, 12);
    expect([b5.min, b5.max]).toEqual([0.85, 0.89]);
    expect(groups[1].bars[0].mean).toBeCloseTo(0.75, 12);
  });
  it("splits each group by a secondary variable, leaving out empty combinations", () => {
    const groups = groupStats(models, amount, "model/compressed_bytes", scope);
    expect(groups[0].bars.map((b) => [b.level, b.total])).toEqual([["global", 2], ["local", 1]]);
    expect(groups[1].bars.map((b) => b.level)).toEqual(["global"]);
  });
  it("gives each operation of a mixed level its own group, the ancestor first", () => {
    // base and int8 share "(none)", magnitude and random pruning share 0.5
    const mixed = pick("s0", "s0q", "s0p5", "s0r", "s0p8");
    const byAmount = variable("prune · amount", [[NONE, ["s0", "s0q"]], ["0.5", ["s0p5", "s0r"]], ["0.8", ["s0p8"]]]);
    const ops = new Map([["s0", ANCESTOR], ["s0q", "quantize.dynamic_int8"], ["s0p5", "prune.magnitude"], ["s0r", "prune.random"], ["s0p8", "prune.magnitude"]]);
    const groups = groupStats(mixed, byAmount, "model/compressed_bytes", null, ops);
    expect(groups.map((g) => g.label)).toEqual([
      "(none) · ancestor", "(none) · quantize.dynamic_int8", "0.5 · prune.magnitude", "0.5 · prune.random", "0.8",
    ]);
    expect(groups.map((g) => g.level)).toEqual([NONE, NONE, "0.5", "0.5", "0.8"]);
    expect(groups[1].bars[0]).toMatchObject({ mean: 250, ids: ["s0q"] });
    expect(mixesOperations(byAmount, ops)).toBe(true);
  });
  it("pools a level's operations only when asked (no operations given)", () => {
    const byAmount = variable("prune · amount", [[NONE, ["s0", "s0q"]]]);
    const groups = groupStats(pick("s0", "s0q"), byAmount, "model/compressed_bytes");
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ label: NONE, operation: null });
    expect(groups[0].bars[0].mean).toBe((1000 + 250) / 2);
  });
  it("skips missing values and reports null for a bar without any", () => {
    const s = summarize(pick("s0r", "s0p5"), "ds/accuracy");
    expect([s.total, s.count, s.mean]).toEqual([2, 1, 0.89]);
    expect(summarize(pick("s0r"), "ds/accuracy").mean).toBeNull();
  });
});

describe("mainMetricKeys", () => {
  it("puts accuracy per dataset first, then size, latency and MACs", () => {
    const keys = ["model/macs", "a/loss", "a/accuracy", "b/accuracy", "model/compressed_bytes", "model/parameters"];
    expect(mainMetricKeys(keys)).toEqual(["a/accuracy", "b/accuracy", "model/compressed_bytes", "model/macs"]);
    expect(mainMetricKeys(["x/loss", "model/parameters"])).toEqual(["x/loss", "model/parameters"]);
  });
});

describe("metricKeysOf", () => {
  it("keeps only the metrics some selected model has a value for", () => {
    const models = pick("s0p5", "s0p8");
    expect(metricKeysOf(models, ["ds/accuracy", "lm-held-out/accuracy"])).toEqual(["ds/accuracy"]);
    expect(metricKeysOf([], ["ds/accuracy"])).toEqual([]);
  });
});

describe("operationsOf", () => {
  const step = (op: string): Step => ({ slot: op.split(".")[0], op, params: {}, seed: 0, teacher: null, model_id: "x", model_name: "x" });
  it("names each model's operations after the ancestor, the ancestor itself as ANCESTOR", () => {
    const diff: Differences = {
      ancestor: { id: "s0", name: "s0-name" },
      chains: { s0: [], s0p5ft: [step("prune.magnitude"), step("train.finetune")] },
      slots: [], variables: [], shared: [], varying: {},
    };
    expect(operationsOf(diff)).toEqual(new Map([["s0", ANCESTOR], ["s0p5ft", "prune.magnitude → train.finetune"]]));
  });
  it("splits ids by operation, one entry for one operation", () => {
    const ops = new Map([["a", "x"], ["b", "x"]]);
    expect(splitByOperation(["a", "b"], ops)).toEqual([["x", ["a", "b"]]]);
    expect(mixesOperations(variable("v", [["1", ["a", "b"]]]), ops)).toBe(false);
  });
});
