import { describe, expect, it } from "vitest";
import { pickView, registeredViews } from "./viewregistry";

const mod = (id: string, order: number) => ({ default: id.toUpperCase(), view: { id, label: id, order } });

describe("view registry", () => {
  it("orders views by their declared order and skips modules without a view", () => {
    const views = registeredViews({ "b.svelte": mod("b", 20), "a.svelte": mod("a", 30), "x.svelte": { default: "X" } });
    expect(views.map((v) => v.id)).toEqual(["b", "a"]);
    expect(views[0].component).toBe("B");
    expect(views[0].file).toBe("b.svelte");
  });
  it("refuses two files declaring the same id", () => {
    expect(() => registeredViews({ "a.svelte": mod("a", 1), "b.svelte": mod("a", 2) })).toThrow(/both a.svelte and b.svelte/);
  });
  it("refuses an id that cannot live in a URL or a test id", () => {
    expect(() => registeredViews({ "a.svelte": mod("A b", 1) })).toThrow(/lower-case/);
  });
  it("falls back to the default view, then the first, for an unknown id", () => {
    const views = registeredViews({ "a.svelte": mod("a", 1), "b.svelte": mod("b", 2) });
    expect(pickView(views, "b", "a")?.id).toBe("b");
    expect(pickView(views, "zzz", "b")?.id).toBe("b");
    expect(pickView(views, "zzz", "nope")?.id).toBe("a");
    expect(pickView([], "a", "b")).toBeUndefined();
  });
});
