"""Checks across a recipe's sections, so a sweep fails before it runs, not an hour into it.

Each error names the file, the line and the place: unknown ops or stages, bad parameters at
any grid point, cycles, duplicate names, datasets used but not declared, impossible seeds.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable

from compresslens.errors import FactoryError, OperationError, UntrustedCodeError
from compresslens.models.factory import split_factory
from compresslens.models.trust import check_trusted
from compresslens.ops.registry import get_operation
from compresslens.run.recipe_schema import BASE, Recipe
from compresslens.run.stages import find_cycle, models_per_seed, stage_seeds


def check_recipe(recipe: Recipe) -> None:
    """Raise RecipeError at the first problem; the order makes each message the root cause."""
    import_plugins(recipe)
    _check_unique_names(recipe)
    _check_references(recipe)
    _check_acyclic(recipe)
    _check_datasets(recipe)
    _check_operations(recipe)
    _check_seeds(recipe)


def import_plugins(recipe: Recipe) -> None:
    """Import the modules that register a recipe's extra operations or factories."""
    check_recipe_trusted(recipe)
    for index, module in enumerate(recipe.plugins):
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise recipe.source.error(
                ("plugins", index), f"cannot import plugin {module!r}: {exc}"
            ) from None


def check_recipe_trusted(recipe: Recipe) -> None:
    """A recipe may come from anyone: its plugins and base factory must name trusted modules
    (`compresslens trust add`, `--trust`), checked before anything is imported."""
    named: list[tuple[tuple[str | int, ...], str, str]] = [
        (("plugins", index), module, f"the plugin {module!r}")
        for index, module in enumerate(recipe.plugins)
    ]
    if recipe.base.factory is not None:
        try:
            module = split_factory(recipe.base.factory)[0]
        except FactoryError as exc:
            raise recipe.source.error(("base", "factory"), str(exc)) from None
        named.append((("base", "factory"), module, f"the factory {recipe.base.factory!r}"))
    for path, module, what in named:
        try:
            check_trusted(module, what)
        except UntrustedCodeError as exc:
            raise UntrustedCodeError(f"{recipe.source.where(path)}: {exc}") from None


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


def _check_unique_names(recipe: Recipe) -> None:
    first: dict[str, int] = {}
    for index, stage in enumerate(recipe.stages):
        if stage.name in first:
            line = recipe.source.line_of(("stages", first[stage.name], "name"))
            raise recipe.source.error(
                ("stages", index, "name"),
                f"duplicate stage name {stage.name!r} (first used at line {line})",
            )
        first[stage.name] = index


def _check_references(recipe: Recipe) -> None:
    names = [BASE, *(s.name for s in recipe.stages)]
    for index, stage in enumerate(recipe.stages):
        for field in ("parent", "teacher"):
            target = getattr(stage, field)
            if target is not None and target not in names:
                raise recipe.source.error(
                    ("stages", index, field),
                    f"unknown {field} stage {target!r}{_hint(target, names)} "
                    f"(stages: {', '.join(names)})",
                )


def _check_acyclic(recipe: Recipe) -> None:
    cycle = find_cycle(recipe)
    if cycle is not None:
        raise recipe.source.error(
            ("stages", recipe.stage_index(cycle[0])),
            f"stages depend on each other in a cycle: {' -> '.join(cycle)}",
        )


def _check_datasets(recipe: Recipe) -> None:
    declared = list(recipe.datasets)

    def need(name: object, path: tuple[str | int, ...]) -> None:
        if isinstance(name, str) and name not in declared:
            listed = ", ".join(declared) or "none"
            raise recipe.source.error(
                path,
                f"dataset {name!r} is not declared in the recipe's datasets{_hint(name, declared)} "
                f"(declared: {listed})",
            )

    if recipe.base.train is not None:
        need(recipe.base.train.dataset, ("base", "train", "dataset"))
    for index, name in enumerate(recipe.evaluate.datasets):
        need(name, ("evaluate", "datasets", index))
    for i, stage in enumerate(recipe.stages):
        if stage.evaluate is not None:
            for j, name in enumerate(stage.evaluate.datasets):
                need(name, ("stages", i, "evaluate", "datasets", j))
        need(stage.params.get("dataset"), ("stages", i, "params", "dataset"))
        for j, name in enumerate(stage.grid.get("dataset", [])):
            need(name, ("stages", i, "grid", "dataset", j))


def _check_operations(recipe: Recipe) -> None:
    """Every op is registered, and its parameters validate at every point of the grid."""
    for index, stage in enumerate(recipe.stages):
        try:
            operation = get_operation(stage.op)
        except OperationError as exc:
            raise recipe.source.error(("stages", index, "op"), str(exc)) from None
        for point, choice in zip(stage.grid_points(), stage.choices(), strict=True):
            try:
                operation.validate(point)
            except OperationError as exc:
                where = ("stages", index, "grid" if choice else "params")
                at = f"grid point {_label(choice)}: " if choice else ""
                raise recipe.source.error(where, f"{at}{exc}") from None


def _check_seeds(recipe: Recipe) -> None:
    seeds = stage_seeds(recipe)
    counts = models_per_seed(recipe)
    for index, stage in enumerate(recipe.stages):
        missing = sorted(set(seeds[stage.name]) - set(seeds[stage.parent]))
        if missing:
            raise recipe.source.error(
                ("stages", index, "seeds"),
                f"seeds {missing} are not seeds of parent {stage.parent!r} "
                f"(it has {seeds[stage.parent]})",
            )
        if stage.teacher is None:
            continue
        lacking = sorted(set(seeds[stage.name]) - set(seeds[stage.teacher]))
        if lacking:
            raise recipe.source.error(
                ("stages", index, "teacher"),
                f"teacher stage {stage.teacher!r} has no model for seeds {lacking}",
            )
        if counts[stage.teacher] != 1:
            raise recipe.source.error(
                ("stages", index, "teacher"),
                f"teacher stage {stage.teacher!r} makes {counts[stage.teacher]} models per seed "
                "(a grid); a teacher must be one model per seed",
            )


def _label(choice: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in choice.items()) + "}"
