"""Reading a recipe: YAML text or a file → a validated, checked `Recipe` (recipe_schema.py).

The schema's names are re-exported here, where callers have always found them; the checks
(run/checks.py) read the schema module, so they and the loading below import in one direction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from compresslens.run.checks import check_recipe
from compresslens.run.errors import RecipeError
from compresslens.run.recipe_schema import (
    BASE,
    STAGE_NAME,
    BaseSpec,
    DatasetSpec,
    EvaluateSpec,
    Recipe,
    ResourceSpec,
    StageSpec,
    Strict,
)
from compresslens.run.source import SourceMap, parse_yaml

__all__ = [
    "BASE",
    "STAGE_NAME",
    "BaseSpec",
    "DatasetSpec",
    "EvaluateSpec",
    "Recipe",
    "ResourceSpec",
    "StageSpec",
    "Strict",
    "load_recipe",
    "parse_recipe",
    "recipe_from_data",
]


def recipe_from_data(data: Any, source: SourceMap | None = None) -> Recipe:
    """Validate a parsed document against the schema and the registry; errors name the place."""
    source = source or SourceMap()
    if not isinstance(data, dict):
        raise source.error((), "a recipe must be a mapping (datasets:, base:, stages:, …)")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_validation_message(exc, source)) from None
    recipe._source = source
    check_recipe(recipe)
    return recipe


def parse_recipe(text: str, name: str = "<recipe>") -> Recipe:
    data, source = parse_yaml(text, name)
    return recipe_from_data(data, source)


def load_recipe(path: str | Path) -> Recipe:
    """Read, validate and check a recipe file; any problem raises RecipeError naming its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RecipeError(
            f"{path} is not a YAML recipe: byte {exc.start} is not UTF-8 text"
        ) from None
    return parse_recipe(text, str(path))


def _validation_message(exc: ValidationError, source: SourceMap) -> str:
    lines = []
    for error in exc.errors():
        # pydantic puts the branch of a union (e.g. 'int', 'list[int]') into the location
        loc = [part for part in error["loc"] if not _is_union_branch(part)]
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{source.where(loc)}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _is_union_branch(part: str | int) -> bool:
    return isinstance(part, str) and (
        "[" in part or part in {"int", "str", "bool", "float", "list", "dict"}
    )
