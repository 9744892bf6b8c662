import { describe, expect, it } from "vitest";
import { layoutDag } from "../../lib/layout";
import { SMALL } from "../../lib/fixtures";
import { primaryParent } from "../../lib/metrics";
import { edgeLabel, headingFit, headingLines, idsInBox, isClick, neighbour, paramText, placeLabels, rectsOverlap, screenBoxToMap } from "./mapview";

describe("box selection", () => {
  const pts = [
    { id: "a", x: 10, y: 10 },
    { id: "b", x: 50, y: 10 },
    { id: "c", x: 50, y: 80 },
  ];
  it("keeps the points whose centre is inside, whichever way the box was dragged", () => {
    expect(idsInBox(pts, { x0: 0, y0: 0, x1: 60, y1: 20 })).toEqual(["a", "b"]);
    expect(idsInBox(pts, { x0: 60, y0: 100, x1: 40, y1: 5 })).toEqual(["b", "c"]);
    expect(idsInBox(pts, { x0: 11, y0: 0, x1: 49, y1: 100 })).toEqual([]);
  });
  it("undoes pan and zoom", () => {
    // map point (50, 10) drawn at 2x, shifted by (100, 20): on screen at (200, 40)
    const m = screenBoxToMap({ x0: 210, y0: 50, x1: 190, y1: 30 }, { x: 100, y: 20, k: 2 });
    expect(m).toEqual({ x0: 45, y0: 5, x1: 55, y1: 15 });
    expect(idsInBox(pts, m)).toEqual(["b"]);
  });
  it("tells a click from a drag", () => {
    expect(isClick({ x0: 5, y0: 5, x1: 7, y1: 3 })).toBe(true);
    expect(isClick({ x0: 5, y0: 5, x1: 25, y1: 6 })).toBe(false);
  });
});

describe("edge labels", () => {
  it("names the operation and its parameters, leaving nulls out", () => {
    expect(paramText({ amount: 0.8, scope: "global", limit: null, dims: [1, 2] })).toBe(
      'amount=0.8, scope=global, dims=[1,2]',
    );
    expect(edgeLabel("prune.magnitude", { amount: 0.8 })).toBe("prune.magnitude(amount=0.8)");
  });
  it("puts scalars before lists, and the label leaves empty lists out", () => {
    const params = { include_types: ["Linear"], exclude: [], amount: 0.5, scope: "global" };
    expect(paramText(params)).toBe('amount=0.5, scope=global, include_types=["Linear"], exclude=[]');
    expect(edgeLabel("prune.magnitude", params, 80)).toBe('prune.magnitude(amount=0.5, scope=global, include_types=["Linear"])');
    expect(edgeLabel("quantize.dynamic_int8", {})).toBe("quantize.dynamic_int8");
  });
  it("cuts long labels", () => {
    const label = edgeLabel("train.finetune", { dataset: "x".repeat(100) }, 30);
    expect(label).toHaveLength(30);
    expect(label.endsWith("…")).toBe(true);
  });
});

describe("keyboard moves", () => {
  // step layout of SMALL: row 0 base p1 p1ft, row 1 (col 1) q1 (col 2) st
  const l = layoutDag(SMALL, "step");
  const byId = new Map(SMALL.map((m) => [m.id, m]));
  const parentOf = (id: string) => primaryParent(byId.get(id)!);
  const go = (id: string, key: Parameters<typeof neighbour>[2]) => neighbour(l.nodes, id, key, parentOf);
  it("follows a chain left to right on its row", () => {
    expect(go("base", "ArrowRight")).toBe("p1");
    expect(go("p1", "ArrowRight")).toBe("p1ft");
    expect(go("p1ft", "ArrowRight")).toBeNull();
  });
  it("goes back to the parent from the start of a sibling's row", () => {
    expect(go("st", "ArrowLeft")).toBe("q1");
    expect(go("q1", "ArrowLeft")).toBe("base");
    expect(go("base", "ArrowLeft")).toBeNull();
  });
  it("moves to the next row, at the closest column", () => {
    expect(go("p1", "ArrowDown")).toBe("q1");
    expect(go("q1", "ArrowUp")).toBe("p1");
    expect(go("base", "ArrowDown")).toBe("q1"); // nothing below in column 0
    expect(go("p1ft", "ArrowDown")).toBe("st");
    expect(go("st", "ArrowDown")).toBeNull();
  });
  it("goes to the adjacent row, not to a node of the same column further away", () => {
    const nodes = new Map(
      [
        { id: "a", col: 1, row: 0 },
        { id: "b", col: 3, row: 1 },
        { id: "c", col: 0, row: 1 },
        { id: "d", col: 1, row: 2 },
      ].map((n) => [n.id, { ...n, depth: 0 }]),
    );
    expect(neighbour(nodes, "a", "ArrowDown", () => null)).toBe("c");
    expect(neighbour(nodes, "d", "ArrowUp", () => null)).toBe("c");
    expect(neighbour(nodes, "c", "ArrowUp", () => null)).toBe("a");
  });
  it("keeps to the column a run of up/down moves started from", () => {
    const nodes = new Map(
      [
        { id: "x", col: 2, row: 0 },
        { id: "y", col: 4, row: 0 },
        { id: "z", col: 3, row: 1 },
      ].map((n) => [n.id, { ...n, depth: 0 }]),
    );
    expect(neighbour(nodes, "z", "ArrowUp", () => null)).toBe("y");
    expect(neighbour(nodes, "z", "ArrowUp", () => null, 2)).toBe("x");
  });
  it("jumps to the first and last node", () => {
    expect(go("st", "Home")).toBe("base");
    expect(go("base", "End")).toBe("st");
    expect(go("missing", "Home")).toBeNull();
  });
});

describe("column headings", () => {
  it("puts an operation's family above its name", () => {
    expect(headingLines("quantize.static_int8")).toEqual(["quantize.", "static_int8"]);
    expect(headingLines("base")).toEqual(["base"]);
    expect(headingLines("odd.")).toEqual(["odd."]);
  });
  it("turns headings steeper and shortens them as columns get closer", () => {
    const wide = headingFit(200, 76);
    expect(wide.angle).toBeCloseTo(35);
    const narrow = headingFit(33, 76);
    expect(narrow.angle).toBeGreaterThan(45);
    expect(narrow.maxChars).toBeLessThan(wide.maxChars);
    // neighbouring two-line headings clear each other across the text
    expect(33 * Math.sin((narrow.angle * Math.PI) / 180)).toBeGreaterThanOrEqual(25 - 1e-9);
    expect(headingFit(1, 76).angle).toBeCloseTo(75);
  });
  it("cuts a long line with an ellipsis", () => {
    expect(headingLines("quantize.weight_only_int4_grouped", 10)).toEqual(["quantize.", "weight_on…"]);
  });
});

describe("edge label placement", () => {
  const cand = (key: string, x: number, y: number, text = "prune(a=1)", room = 200) => ({ key, text, x, y, room });
  it("keeps a label that fits above its edge", () => {
    const [p] = placeLabels([cand("a", 100, 50)], []);
    expect(p.text).toBe("prune(a=1)");
    expect(p.y).toBe(46);
    expect(p.box.x).toBe(70);
  });
  it("puts a label that would cover another below its edge, or leaves it out", () => {
    const placed = placeLabels([cand("a", 100, 50), cand("b", 100, 52), cand("c", 100, 54)], []);
    expect(placed.map((p) => p.key)).toEqual(["a", "b"]);
    expect(placed[1].y).toBeGreaterThan(52);
    for (const p of placed) for (const q of placed) if (p !== q) expect(rectsOverlap(p.box, q.box)).toBe(false);
  });
  it("does not print over a node", () => {
    expect(placeLabels([cand("a", 100, 50)], [{ x: 90, y: 30, width: 20, height: 40 }])).toEqual([]);
  });
  it("cuts a label to the room between its edge's ends, and drops it when too little is left", () => {
    const [p] = placeLabels([cand("a", 100, 50, "prune.magnitude(amount=0.5)", 60)], []);
    expect(p.text).toBe("prune.mag…");
    expect(p.box.width).toBe(60);
    expect(placeLabels([cand("a", 100, 50, "prune.magnitude", 20)], [])).toEqual([]);
  });
});
