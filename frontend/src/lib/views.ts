/** Every analysis view in components/views/, in tab order (see viewregistry.ts). */
import type { Component } from "svelte";
import { registeredViews, type ViewMeta } from "./viewregistry";

export const DEFAULT_VIEW = "behaviours";

export const VIEWS = registeredViews(
  import.meta.glob<{ default: Component; view?: ViewMeta }>("../components/views/*.svelte", { eager: true }),
);
