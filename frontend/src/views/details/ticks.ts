/**
 * Tick labels of the Selection details charts, wrapped instead of cut: a level such as
 * "prune.magnitude → quantize.dynamic_int8" is broken after its separators into lines that fit
 * the group's width, so the chart names every level in full. Pure.
 */

/** About 5.8 px per character at the charts' 10 px font. */
export const CHAR_PX = 5.8;

/** The characters that fit in `px` (3 at least). */
export function charsFitting(px: number): number {
  return Math.max(3, Math.floor(px / CHAR_PX));
}

const WORDS = /[^\s._,·→]+/g;

/** Whether `text` wraps into lines of `maxChars` without cutting a word (else the chart
 * turns its labels upright instead: "ancest|or" reads worse than an upright "ancestor"). */
export function wrapsWhole(text: string, maxChars: number): boolean {
  return (text.match(WORDS) ?? []).every((w) => w.length <= maxChars);
}

/** How far below the axis a label of `chars` characters reaches when turned by `degrees`. */
export function slantedDepth(chars: number, degrees: number): number {
  return Math.ceil(chars * CHAR_PX * Math.sin((degrees * Math.PI) / 180)) + 6;
}

/**
 * `text` in lines of at most `maxChars` characters, broken after a separator (space, ".",
 * "_", ",", "·", "→") where possible, inside a word only when the word alone is longer.
 * The lines joined give back `text` exactly; a line's trailing space is not drawn.
 */
export function wrapLabel(text: string, maxChars: number): string[] {
  const max = Math.max(1, Math.floor(maxChars));
  const tokens = text.match(/[^\s._,·→]+[\s._,·→]*|[\s._,·→]+/g) ?? [text];
  const lines: string[] = [];
  let line = "";
  for (const token of tokens) {
    if ((line + token).trimEnd().length <= max) {
      line += token;
      continue;
    }
    if (line) lines.push(line);
    line = "";
    let rest = token;
    while (rest.trimEnd().length > max) {
      lines.push(rest.slice(0, max));
      rest = rest.slice(max);
    }
    line = rest;
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}
