import { beforeEach, describe, expect, it } from "vitest";
import { app } from "./state.svelte";
import { SMALL } from "./fixtures";

describe("shared selection store", () => {
  beforeEach(() => {
    app.restore("");
    app.setModels(SMALL, []);
  });

  it("starts a restored selection from its shared ancestor, a fresh page from the largest family", () => {
    app.restore("?sel=p1ft,p1");
    app.setModels(SMALL, []);
    expect(app.base).toBe("p1");
    app.restore("?sel=p1ft&base=q1");
    app.setModels(SMALL, []);
    expect(app.base).toBe("q1"); // the link's base is kept
    app.restore("");
    app.setModels(SMALL, []);
    expect(app.base).toBe("base");
  });
  it("fills defaults from the models and picks a root as base", () => {
    expect(app.base).toBe("base");
    expect(app.x).toBe("model/compressed_bytes");
    expect(app.y).toBe("ds/accuracy");
  });
  it("replaces, toggles and adds", () => {
    app.select(["p1"]);
    app.select(["q1"], "toggle");
    expect(app.selected).toEqual(["p1", "q1"]);
    app.select(["p1"], "toggle");
    expect(app.selected).toEqual(["q1"]);
    app.select(["q1", "st"], "add");
    expect(app.selected).toEqual(["q1", "st"]);
    app.select(["base"]);
    expect(app.selected).toEqual(["base"]);
  });
  it("grows along provenance", () => {
    app.select(["p1"]);
    app.expand("parents");
    expect(new Set(app.selected)).toEqual(new Set(["p1", "base"]));
    app.select(["base"]);
    app.expand("children");
    expect(new Set(app.selected)).toEqual(new Set(["base", "p1", "q1", "st"]));
    app.select(["base"]);
    app.expand("descendants");
    expect(app.selected).toHaveLength(5);
    app.select(["p1ft"]);
    app.expand("ancestors");
    expect(new Set(app.selected)).toEqual(new Set(["p1ft", "p1", "base"]));
  });
  it("restores a shared URL and drops ids that no longer exist", () => {
    app.restore("?sel=p1,gone&base=q1&x=model/compressed_bytes&y=nope&layout=step");
    app.setModels(SMALL, []);
    expect(app.selected).toEqual(["p1"]);
    expect(app.base).toBe("q1");
    expect(app.y).toBe("ds/accuracy");
    expect(app.layout).toBe("step");
    expect(app.query()).toContain("layout=step");
  });
});
