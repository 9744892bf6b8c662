/** Pure helpers of the Behaviours view on a token dataset (a causal LM's held-out text): the
 * colour of a token by agreement or by KLD, the page's tokens grouped into entries, the flip
 * list's sort, and the generations' first diverging token. */
import type { components } from "../../lib/api-types";

export type TokenTextAnswer = components["schemas"]["TokenTextAnswer"];
export type TokenFlipsAnswer = components["schemas"]["TokenFlipsAnswer"];
export type GenerationComparison = components["schemas"]["GenerationComparisonAnswer"];

export type ColourMode = "agreement" | "kld";
export const TOKEN_PAGE = 2000;
export const FLIP_ROWS = 200;

/** Agreement: same top-1 (no colour), top-1 changed, correct→incorrect, incorrect→correct. */
export type Agreement = "same" | "changed" | "correct_to_incorrect" | "incorrect_to_correct";
export const AGREEMENT_COLOURS: Record<Agreement, string> = {
  same: "transparent",
  changed: "#fde7a8",
  correct_to_incorrect: "#f4a3a0",
  incorrect_to_correct: "#9fd8b0",
};
export const AGREEMENT_WORDS: Record<Agreement, string> = {
  same: "same top-1",
  changed: "top-1 changed (both wrong)",
  correct_to_incorrect: "correct → incorrect",
  incorrect_to_correct: "incorrect → correct",
};

/** A token's agreement from its flip code (index of `flipKinds`) and same-top flag. */
export function agreementOf(sameTop: boolean, flip: number, flipKinds: readonly string[]): Agreement {
  const kind = flipKinds[flip];
  if (kind === "correct_to_incorrect" || kind === "incorrect_to_correct") return kind;
  return sameTop ? "same" : "changed";
}

/** The KLD a colour saturates at: the page's 99th percentile (so one outlier does not wash the
 * rest out), at least `floor` so an identical model stays white. */
export function kldCeiling(values: readonly number[], floor = 1e-3): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!finite.length) return floor;
  const at = finite[Math.min(finite.length - 1, Math.floor(0.99 * (finite.length - 1)))];
  return Math.max(at, floor);
}

/** White at 0 to dark red at `ceiling` (and beyond), on a square-root ramp so small
 * divergences already show. */
export function kldColour(kld: number, ceiling: number): string {
  if (!Number.isFinite(kld) || kld <= 0 || ceiling <= 0) return "rgb(255, 255, 255)";
  const t = Math.sqrt(Math.min(kld / ceiling, 1));
  const mix = (from: number, to: number) => Math.round(from + (to - from) * t);
  return `rgb(${mix(255, 178)}, ${mix(255, 24)}, ${mix(255, 43)})`;
}

export interface TokenCell {
  index: number;
  text: string;
  agreement: Agreement;
  kld: number;
  deltaP: number;
  baseTop1: string;
  modelTop1: string;
  baseMargin: number;
  position: number;
}

export interface EntryRun {
  entry: number;
  tokens: TokenCell[];
}

/** The page's tokens in runs of one entry each (a new entry starts a new paragraph). */
export function entryRuns(answer: TokenTextAnswer): EntryRun[] {
  const p = answer.page;
  const runs: EntryRun[] = [];
  for (let i = 0; i < p.token.length; i++) {
    const entry = p.entry[i] ?? -1;
    const cell: TokenCell = {
      index: answer.offset + i,
      text: p.token[i],
      agreement: agreementOf(p.same_top[i], p.flip[i], answer.flip_kinds),
      kld: p.kld[i],
      deltaP: p.delta_p[i],
      baseTop1: p.base_top1[i],
      modelTop1: p.model_top1[i],
      baseMargin: p.base_margin[i],
      position: p.position[i] ?? i,
    };
    const last = runs[runs.length - 1];
    if (last && last.entry === entry) last.tokens.push(cell);
    else runs.push({ entry, tokens: [cell] });
  }
  return runs;
}

/** A token as text to show: whitespace made visible where it would vanish (a token that is
 * only spaces or a newline) so every token has something to hover. */
export function visibleToken(text: string): string {
  if (text === "") return "∅";
  if (/^\s+$/.test(text)) return text.replace(/\n/g, "↵").replace(/ /g, "·");
  return text;
}

/** What hovering a token tells: the token, both top-1 tokens, KLD and Δp. */
export function tokenTitle(c: TokenCell): string {
  const q = (s: string) => JSON.stringify(s);
  return (
    `token ${q(c.text)} (#${c.index})\n` +
    `base top-1 ${q(c.baseTop1)}, model top-1 ${q(c.modelTop1)}\n` +
    `KLD ${formatNumber(c.kld)}, Δp ${formatSigned(c.deltaP)}, base margin ${formatNumber(c.baseMargin)}\n` +
    AGREEMENT_WORDS[c.agreement]
  );
}

export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return "–";
  if (v !== 0 && Math.abs(v) < 10 ** -digits) return v.toExponential(1);
  return v.toFixed(digits);
}

export function formatSigned(v: number, digits = 3): string {
  const s = formatNumber(v, digits);
  return Number.isFinite(v) && v > 0 ? `+${s}` : s;
}

export type FlipSortKey = "index" | "base_margin" | "kld" | "delta_p";
export type FlipKindFilter = "all" | "correct_to_incorrect" | "incorrect_to_correct";

/** Rows (positions into the flip columns) of one kind, sorted by a column; ties by stream
 * order, so the order is stable. */
export function sortedFlips(
  flips: TokenFlipsAnswer["flips"],
  key: FlipSortKey,
  descending: boolean,
  kind: FlipKindFilter = "all",
): number[] {
  const rows = flips.index.map((_, i) => i).filter((i) => kind === "all" || flips.kind[i] === kind);
  const value = (i: number) => flips[key][i];
  const sign = descending ? -1 : 1;
  return rows.sort((a, b) => sign * (value(a) - value(b)) || flips.index[a] - flips.index[b]);
}

/** The page offset that shows token `index`. */
export function pageOf(index: number, pageSize = TOKEN_PAGE): number {
  return Math.floor(Math.max(0, index) / pageSize) * pageSize;
}

export type GenerationState = "shared" | "diverged" | "after";

/** Each generated token's state against the other model's: the shared prefix, the first
 * diverging token (marked), and what follows it. */
export function generationStates(count: number, firstDivergence: number | null): GenerationState[] {
  return Array.from({ length: count }, (_, i) =>
    firstDivergence === null || i < firstDivergence ? "shared" : i === firstDivergence ? "diverged" : "after",
  );
}
