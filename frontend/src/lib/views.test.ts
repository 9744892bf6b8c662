import { describe, expect, it } from "vitest";
import registry from "./views.ts?raw";

// every component under src/views/ as source text: the ones exporting `view` are tabs
const components = import.meta.glob<string>("../views/*/*.svelte", { query: "?raw", import: "default", eager: true });

describe("the view registry", () => {
  it("lists exactly the view folders' components that declare a view", () => {
    const declaring = Object.entries(components)
      .filter(([, source]) => /export const view\s*=/.test(source))
      .map(([file]) => file)
      .sort();
    const listed = [...registry.matchAll(/"(\.\.\/views\/[^"]+\.svelte)"/g)].map((m) => m[1]).sort();
    expect(listed).toEqual(declaring);
    expect(listed).toHaveLength(6);
  });
  it("keeps one view per folder", () => {
    const folders = Object.keys(components)
      .filter((file) => /export const view\s*=/.test(components[file]))
      .map((file) => file.split("/")[2]);
    expect(new Set(folders).size).toBe(folders.length);
  });
});
