import { describe, expect, it } from "vitest";
import type { ApiModel } from "./types";
import { sharesDataset, verdictText, verdictTitle, verdictTone, verdictUrl, worstRow, type VerdictAnswer, type VerdictRow } from "./verdict";

function row(group: string, difference: number, lower: number, call: VerdictRow["call"], family = "class"): VerdictRow {
  return {
    family, group, count: 1000, base_accuracy: 0.9, accuracy: 0.9 + difference / 100,
    difference_pts: difference, lower_pts: lower, upper_pts: difference + 1, margin_pts: family === "overall" ? 0.5 : 2,
    p_no_worse: 0.01, lost: 3, gained: 1, mcnemar_p: 0.6, p_adjusted: 0.9, call,
  };
}

function answer(verdict: VerdictAnswer["verdict"], rows: VerdictRow[], overall = row("all", 0, -0.1, "pass", "overall")): VerdictAnswer {
  return {
    verdict, passed: verdict === "equivalent", meaning: "what it means", mode: "instances",
    base: ["b"], model: ["m"], dataset: "d", alpha: 0.05, confidence: 0.95, max_drop: 0.5, max_class_drop: 2,
    overall, rows, nfr: 0.0303, mcnemar: { lost: 303, gained: 202, p_value: 8.05e-6, mid_p: 6.6e-6 }, bootstrap: null,
  };
}

describe("verdict badge words", () => {
  it("maps each verdict to the colour vocabulary's tone", () => {
    expect(verdictTone("equivalent")).toBe("better");
    expect(verdictTone("regression")).toBe("worse");
    expect(verdictTone("inconclusive")).toBe("neutral");
  });

  it("says what a pass excludes", () => {
    expect(verdictText(answer("equivalent", [row("Coat", -0.2, -0.4, "pass")]))).toBe(
      "No regression beyond 0.5 pts (2 per class) · 95%",
    );
  });

  it("names the worst failing group of a regression", () => {
    const rows = [row("Coat", -6.2, -7.8, "regression"), row("Shirt", -10.8, -12.6, "regression"), row("dark", -1.5, -2.2, "inconclusive", "brightness")];
    const a = answer("regression", rows);
    expect(worstRow(a)?.group).toBe("Shirt");
    expect(verdictText(a)).toBe("Regression: Shirt −10.8 pts (limit −2)");
  });

  it("names a subgroup with its attribute when inconclusive", () => {
    const a = answer("inconclusive", [row("dark", -1.5, -2.2, "inconclusive", "brightness")]);
    expect(verdictText(a)).toBe("Inconclusive: brightness=dark −1.5 pts, a drop beyond 2 pts not excluded");
  });

  it("puts the flip evidence and the CLI line in the tooltip", () => {
    const title = verdictTitle(answer("regression", [row("Shirt", -10.8, -12.6, "regression")]));
    expect(title).toContain("flips: 303 lost, 202 gained; McNemar p = 0.00000805");
    expect(title).toContain("negative flip rate 3.03%");
    expect(title).toContain("--max-drop 0.5 --max-class-drop 2");
  });

  it("asks for the pair at the default tolerances", () => {
    expect(verdictUrl("a b", "c")).toBe("api/verdict?base=a+b&model=c");
  });
});

describe("which pairs get a verdict", () => {
  const model = (metrics: Record<string, Record<string, number>>) => ({ metrics }) as unknown as ApiModel;
  it("needs a dataset both models were evaluated on; the model group does not count", () => {
    const cnn = model({ model: { parameters: 1 }, "fashion-mnist-test": { accuracy: 0.9 } });
    const lm = model({ model: { parameters: 2 }, "lm-held-out": { accuracy: 0.3 } });
    expect(sharesDataset(cnn, lm)).toBe(false);
    expect(sharesDataset(cnn, model({ "fashion-mnist-test": { accuracy: 0.8 } }))).toBe(true);
  });
});
