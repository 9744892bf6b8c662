import { describe, expect, it } from "vitest";
import type { JobDescription } from "./api";
import { aheadText, barFraction, duration, estimateText, headline, queueText, stepsText, type JobAhead } from "./jobs";

const job = (over: Partial<JobDescription>): JobDescription => ({
  status: "running",
  job: "job-2",
  kind: "sensitivity",
  params: {},
  state: "running",
  position: 0,
  ahead: [],
  cost: 1,
  elapsed_s: 1,
  estimate_s: null,
  progress: { done: 0, total: 0, message: "" },
  ...over,
});
const sweep = (over: Partial<JobAhead> = {}): JobAhead => ({
  job: "job-1",
  kind: "robustness",
  message: "robustness of 20 models × 10 conditions",
  state: "running",
  until: "done",
  estimate_s: 360,
  ...over,
});

describe("the progress bar", () => {
  it("fills by done of total", () => {
    expect(barFraction({ done: 3, total: 12, message: "" })).toBe(0.25);
    expect(barFraction({ done: 20, total: 12, message: "" })).toBe(1);
  });
  it("is indeterminate without a total or with a single step, never empty", () => {
    expect(barFraction({ done: 0, total: 0, message: "" })).toBeNull();
    expect(barFraction({ done: 0, total: 1, message: "" })).toBeNull();
    expect(barFraction(null)).toBeNull();
  });
  it("counts steps only once it knows how many, never 0 / 0", () => {
    expect(stepsText({ done: 2, total: 5, message: "" }, "evaluations")).toBe("2 of 5 evaluations");
    expect(stepsText({ done: 0, total: 0, message: "" })).toBe("");
  });
});

describe("the headline", () => {
  it("puts the view's label before the count, or says it waits to start", () => {
    const p = { done: 2, total: 5, message: "" };
    expect(headline("Measuring", p, job({}), "evaluations")).toBe("Measuring: 2 of 5 evaluations");
    expect(headline("Measuring", { done: 0, total: 0, message: "" }, null)).toBe("Measuring…");
    expect(headline("", p, null)).toBe("2 of 5 steps");
    expect(headline("Measuring", p, job({ state: "queued" }))).toBe("Waiting to start");
  });
});

describe("time left", () => {
  it("says seconds, minutes or hours", () => {
    expect(duration(0.2)).toBe("~1 s");
    expect(duration(40)).toBe("~40 s");
    expect(duration(351)).toBe("~6 min");
    expect(duration(3900)).toBe("~1 h 5 min");
    expect(duration(7200)).toBe("~2 h");
  });
  it("gives a running job's estimate, or says it is estimating", () => {
    expect(estimateText(job({ estimate_s: 40 }))).toBe("~40 s left");
    expect(estimateText(job({}))).toBe("estimating time left…");
    expect(estimateText(job({ state: "queued", estimate_s: null }))).toBe("");
    expect(estimateText(null)).toBe("");
  });
});

describe("the queue", () => {
  it("names the job ahead and its time left", () => {
    const waiting = job({ state: "queued", position: 1, ahead: [sweep()] });
    expect(queueText(waiting)).toBe("waiting: 1 job ahead: robustness of 20 models × 10 conditions, ~6 min left");
  });
  it("says when the long job ahead steps aside after its current step", () => {
    expect(aheadText(sweep({ until: "next_step", estimate_s: 4 }))).toBe(
      "robustness of 20 models × 10 conditions, which steps aside after its current step (~4 s)",
    );
    expect(aheadText(sweep({ estimate_s: null }))).toContain("time left not known yet");
    expect(aheadText(sweep({ state: "queued", message: "" }))).toBe("robustness (queued)");
  });
  it("counts several jobs ahead", () => {
    const waiting = job({ state: "queued", position: 2, ahead: [sweep(), sweep({ state: "queued" })] });
    expect(queueText(waiting)).toMatch(/^waiting: 2 jobs ahead: /);
  });
  it("says a running job is paused for a shorter one, and nothing when nothing is ahead", () => {
    expect(queueText(job({ ahead: [sweep({ message: "sensitivity of cnn", estimate_s: 3 })] }))).toBe(
      "paused for a shorter job: sensitivity of cnn, ~3 s left",
    );
    expect(queueText(job({}))).toBe("");
  });
});
