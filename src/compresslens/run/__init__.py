"""Sweeps: a recipe (YAML) expands into a plan of models, which the executor makes and evaluates.

The names below load on first use, so that a pool worker can import a light module of this
package (run/pool_start.py) and guard its life before torch is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compresslens.run.errors import RecipeError
    from compresslens.run.executor import execute_plan, run_recipe
    from compresslens.run.plan import Plan, PlanNode, build_plan
    from compresslens.run.recipe import Recipe, load_recipe, parse_recipe
    from compresslens.run.summary import NodeOutcome, RunSummary

_HOME = {
    "RecipeError": "errors",
    "execute_plan": "executor",
    "run_recipe": "executor",
    "Plan": "plan",
    "PlanNode": "plan",
    "build_plan": "plan",
    "Recipe": "recipe",
    "load_recipe": "recipe",
    "parse_recipe": "recipe",
    "NodeOutcome": "summary",
    "RunSummary": "summary",
}

__all__ = [
    "NodeOutcome",
    "Plan",
    "PlanNode",
    "Recipe",
    "RecipeError",
    "RunSummary",
    "build_plan",
    "execute_plan",
    "load_recipe",
    "parse_recipe",
    "run_recipe",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
