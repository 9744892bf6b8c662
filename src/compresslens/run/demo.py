"""The demo sweep (run/recipes/demo.yaml, in the package) that `compresslens demo` runs.

67 lean CNNs on Fashion-MNIST — populations of eight seeds at several compression levels
plus a variety of methods on seed 0 — each evaluated on the 10,000 test images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compresslens.run.errors import RecipeError
from compresslens.run.executor import ProgressFn, run_recipe
from compresslens.run.recipe import load_recipe
from compresslens.run.summary import RunSummary

DEMO_RECIPE = Path(__file__).resolve().parent / "recipes" / "demo.yaml"
DEMO_LM_RECIPE = DEMO_RECIPE.with_name("demo_lm.yaml")


def demo_recipe_path() -> Path:
    """The demo recipe shipped with the package."""
    if not DEMO_RECIPE.is_file():
        raise RecipeError(f"the demo recipe {DEMO_RECIPE} is missing from this installation")
    return DEMO_RECIPE


def demo_lm_recipe_path() -> Path:
    """The demo's language-model sweep (needs lm-base, lm-held-out and lm-calibration)."""
    if not DEMO_LM_RECIPE.is_file():
        raise RecipeError(f"the demo LM recipe {DEMO_LM_RECIPE} is missing from this installation")
    return DEMO_LM_RECIPE


def build_demo_sweep(
    ws: Any,
    *,
    workers: int = 1,
    progress: ProgressFn | None = None,
    recipe: str | Path | None = None,
) -> RunSummary:
    """Run the demo recipe in `ws` (cached: a rerun only does what is missing)."""
    return run_recipe(
        load_recipe(recipe or demo_recipe_path()), ws, workers=workers, progress=progress
    )
