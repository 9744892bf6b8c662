import { describe, expect, it } from "vitest";
import { groupStats, mainMetricKeys, metricKeysOf, summarize, type Variable } from "./differences";
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
