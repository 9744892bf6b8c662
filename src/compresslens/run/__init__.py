"""Sweeps: a recipe (YAML) expands into a plan of models, which the executor makes and evaluates."""

from compresslens.run.errors import RecipeError
from compresslens.run.executor import execute_plan, run_recipe
from compresslens.run.plan import Plan, PlanNode, build_plan
from compresslens.run.recipe import Recipe, load_recipe, parse_recipe
from compresslens.run.summary import NodeOutcome, RunSummary

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
