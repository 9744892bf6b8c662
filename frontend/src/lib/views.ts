/** Every analysis view, in tab order (see viewregistry.ts).

A view is one folder under src/views/ (its component, parts, model code and tests); adding a
view is adding its folder and one line here naming the component that exports `view`.
*/
import type { Component } from "svelte";
import { registeredViews, type ViewMeta } from "./viewregistry";

export const DEFAULT_VIEW = "behaviours";

export const VIEWS = registeredViews(
  import.meta.glob<{ default: Component; view?: ViewMeta }>(
    [
      "../views/details/SelectionDetails.svelte",
      "../views/behaviours/Behaviours.svelte",
      "../views/pies/PiesView.svelte",
      "../views/layers/LayersView.svelte",
      "../views/geometry/GeometryView.svelte",
      "../views/robustness/RobustnessView.svelte",
    ],
    { eager: true },
  ),
);
