/** The no-regression verdict (GET api/verdict) as the selection panel's badge says it:
 * its words, its tone in the one colour vocabulary (blue passes, red a regression, grey
 * undecided) and the evidence in its tooltip. */
import { apiUrl } from "./api";
import type { components } from "./api-types";
import type { ApiModel } from "./types";

export type VerdictAnswer = components["schemas"]["VerdictAnswer"];
export type VerdictRow = components["schemas"]["VerdictRow"];
export type VerdictTone = "better" | "worse" | "neutral";

/** The request of one pair's verdict at the server's default tolerances. */
export function verdictUrl(base: string, model: string): string {
  return apiUrl("api/verdict", { base, model });
}

/** Whether two models are evaluated on a common dataset (a metric group other than "model"):
 * the verdict needs one, so the badge asks for no verdict the server cannot give. */
export function sharesDataset(a: ApiModel, b: ApiModel): boolean {
  const datasets = new Set(Object.keys(a.metrics ?? {}).filter((g) => g !== "model"));
  return Object.keys(b.metrics ?? {}).some((g) => g !== "model" && datasets.has(g));
}

/** equivalent → better (blue), regression → worse (red), inconclusive → neutral (grey). */
export function verdictTone(verdict: VerdictAnswer["verdict"]): VerdictTone {
  return verdict === "equivalent" ? "better" : verdict === "regression" ? "worse" : "neutral";
}

/** The row that keeps a verdict from passing with the lowest lower bound (the worst case);
 * undefined when every row passes. A row without a bound counts as the worst. */
export function worstRow(answer: VerdictAnswer): VerdictRow | undefined {
  const failing = [answer.overall, ...answer.rows].filter((r) => r.call !== "pass");
  const bound = (r: VerdictRow) => r.lower_pts ?? -Infinity;
  return failing.sort((a, b) => bound(a) - bound(b))[0];
}

function points(value: number | null): string {
  if (value === null) return "—";
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(1)}`;
}

function groupName(row: VerdictRow): string {
  if (row.family === "overall") return "overall";
  return row.family === "class" ? row.group : `${row.family}=${row.group}`;
}

/** One line: what was excluded, or the worst group and its change. */
export function verdictText(answer: VerdictAnswer): string {
  const confidence = `${Math.round(answer.confidence * 100)}%`;
  const worst = worstRow(answer);
  if (answer.verdict === "equivalent" || worst === undefined) {
    return `No regression beyond ${answer.max_drop} pts (${answer.max_class_drop} per class) · ${confidence}`;
  }
  const change = `${groupName(worst)} ${points(worst.difference_pts)} pts`;
  if (answer.verdict === "regression") return `Regression: ${change} (limit −${worst.margin_pts})`;
  return `Inconclusive: ${change}, a drop beyond ${worst.margin_pts} pts not excluded`;
}

/** The tooltip: the meaning, then the flip evidence where it exists. */
export function verdictTitle(answer: VerdictAnswer): string {
  const lines = [answer.meaning];
  if (answer.mcnemar) {
    const m = answer.mcnemar;
    lines.push(`flips: ${m.lost} lost, ${m.gained} gained; McNemar p = ${m.p_value.toPrecision(3)}`);
  }
  if (answer.nfr !== null) lines.push(`negative flip rate ${(answer.nfr * 100).toFixed(2)}%`);
  lines.push(`compresslens verdict BASE MODEL --max-drop ${answer.max_drop} --max-class-drop ${answer.max_class_drop}`);
  return lines.join("\n");
}
