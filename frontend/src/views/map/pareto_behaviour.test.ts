import { describe, expect, it } from "vitest";
import { directionOf, metricLabel } from "../../lib/metrics";
import { paretoFrontier, type Point } from "./pareto";

// The behaviour metrics (stored against the lineage root by workspace/behaviour_metrics.py)
// as the scatter's axes: labelled, and with the direction that makes the frontier right.
describe("behaviour metrics on the scatter", () => {
  it("flip rates and the worst class change go the right way", () => {
    expect(directionOf("negative_flip_rate")).toBe("min");
    expect(directionOf("positive_flip_rate")).toBe("max");
    expect(directionOf("worst_class_change")).toBe("max"); // −0.02 beats −0.30
    expect(directionOf("kld_mean")).toBe("min");
  });

  it("have readable labels", () => {
    expect(metricLabel("negative_flip_rate")).toBe("Negative flip rate vs root");
    expect(metricLabel("positive_flip_rate")).toBe("Positive flip rate vs root");
    expect(metricLabel("worst_class_change")).toBe("Worst class Δ accuracy vs root");
  });

  it("ring the frontier of size against negative flip rate", () => {
    const P = (id: string, x: number, y: number): Point => ({ id, x, y });
    const pts = [P("root", 400, 0), P("p50", 200, 0.01), P("p80", 90, 0.04), P("bad", 250, 0.05), P("p95", 30, 0.2)];
    const front = paretoFrontier(pts, directionOf("compressed_bytes"), directionOf("negative_flip_rate"));
    expect(front.map((p) => p.id)).toEqual(["p95", "p80", "p50", "root"]);
  });

  it("ring the frontier of worst class change against size, the least negative best", () => {
    const P = (id: string, x: number, y: number): Point => ({ id, x, y });
    const pts = [P("a", 100, -0.3), P("b", 200, -0.02), P("c", 300, -0.1)];
    const front = paretoFrontier(pts, directionOf("compressed_bytes"), directionOf("worst_class_change"));
    expect(front.map((p) => p.id)).toEqual(["a", "b"]);
  });
});
