import { describe, expect, it } from "vitest";
import { layoutDag } from "../../lib/layout";
import { SMALL } from "../../lib/fixtures";
import { primaryParent } from "../../lib/metrics";
import { edgeLabel, idsInBox, isClick, neighbour, paramText, screenBoxToMap } from "./mapview";

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
  it("moves between rows in the same column, else the closest column", () => {
    expect(go("p1", "ArrowDown")).toBe("q1");
    expect(go("q1", "ArrowUp")).toBe("p1");
    expect(go("base", "ArrowDown")).toBe("q1"); // nothing below in column 0
    expect(go("st", "ArrowDown")).toBeNull();
  });
  it("jumps to the first and last node", () => {
    expect(go("st", "Home")).toBe("base");
    expect(go("base", "End")).toBe("st");
    expect(go("missing", "Home")).toBeNull();
  });
});
