import { describe, expect, it } from "vitest";
import { PAGE_STEP, entryPoint, keyboardOrder, scatterKey } from "./scatterkeys";

const pts = [
  { id: "c", x: 3, y: 0 },
  { id: "a", x: 1, y: 5 },
  { id: "b2", x: 2, y: 9 },
  { id: "b1", x: 2, y: 1 },
];

describe("scatter keyboard order", () => {
  it("visits points by x, then y, then id", () => {
    expect(keyboardOrder(pts)).toEqual(["a", "b1", "b2", "c"]);
    expect(keyboardOrder([{ id: "z", x: 0, y: 0 }, { id: "y", x: 0, y: 0 }])).toEqual(["y", "z"]);
    expect(keyboardOrder([])).toEqual([]);
  });
});

describe("scatter keys", () => {
  const order = ["a", "b1", "b2", "c"];
  it("steps with the arrows, clamped at the ends", () => {
    expect(scatterKey(order, "a", "ArrowRight")).toEqual({ kind: "focus", id: "b1" });
    expect(scatterKey(order, "b1", "ArrowDown")).toEqual({ kind: "focus", id: "b2" });
    expect(scatterKey(order, "b1", "ArrowLeft")).toEqual({ kind: "focus", id: "a" });
    expect(scatterKey(order, "a", "ArrowUp")).toEqual({ kind: "focus", id: "a" });
    expect(scatterKey(order, "c", "ArrowRight")).toEqual({ kind: "focus", id: "c" });
  });
  it("starts at an end when nothing is focused", () => {
    expect(scatterKey(order, null, "ArrowRight")).toEqual({ kind: "focus", id: "a" });
    expect(scatterKey(order, null, "ArrowLeft")).toEqual({ kind: "focus", id: "c" });
    expect(scatterKey(order, "gone", "ArrowRight")).toEqual({ kind: "focus", id: "a" });
  });
  it("jumps with Home, End and the page keys", () => {
    expect(scatterKey(order, "b1", "Home")).toEqual({ kind: "focus", id: "a" });
    expect(scatterKey(order, "b1", "End")).toEqual({ kind: "focus", id: "c" });
    const many = Array.from({ length: 30 }, (_, i) => `m${i}`);
    expect(scatterKey(many, "m0", "PageDown")).toEqual({ kind: "focus", id: `m${PAGE_STEP}` });
    expect(scatterKey(many, "m25", "PageDown")).toEqual({ kind: "focus", id: "m29" });
    expect(scatterKey(many, "m5", "PageUp")).toEqual({ kind: "focus", id: "m0" });
  });
  it("selects with Enter or Space, shift toggling", () => {
    expect(scatterKey(order, "b2", "Enter")).toEqual({ kind: "select", id: "b2", mode: "replace" });
    expect(scatterKey(order, "b2", " ", true)).toEqual({ kind: "select", id: "b2", mode: "toggle" });
    expect(scatterKey(order, null, "Enter")).toEqual({ kind: "focus", id: "a" });
  });
  it("lets other keys through", () => {
    expect(scatterKey(order, "a", "Tab")).toBeNull();
    expect(scatterKey(order, "a", "Escape")).toBeNull();
    expect(scatterKey([], null, "ArrowRight")).toBeNull();
  });
});

describe("scatter entry point", () => {
  const order = ["a", "b1", "b2", "c"];
  it("keeps the last focused point, else the first selected, else the first", () => {
    expect(entryPoint(order, "b2", new Set(["c"]))).toBe("b2");
    expect(entryPoint(order, "gone", new Set(["c", "b1"]))).toBe("b1");
    expect(entryPoint(order, null, new Set())).toBe("a");
    expect(entryPoint([], null, new Set())).toBeNull();
  });
});
