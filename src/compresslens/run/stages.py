"""The graph between stages (parent and teacher edges): its order, and each stage's seeds.

Both the checks and the plan need these; they assume references were already checked.
"""

from __future__ import annotations

from compresslens.run.recipe_schema import BASE, Recipe


def stage_dependencies(recipe: Recipe) -> dict[str, list[str]]:
    """Stage -> the stages it needs first (its parent and its teacher), `base` left out."""
    return {
        stage.name: [s for s in (stage.parent, stage.teacher) if s is not None and s != BASE]
        for stage in recipe.stages
    }


def find_cycle(recipe: Recipe) -> list[str] | None:
    """A list of stages [a, b, …, a] that depend on each other in a circle, or None."""
    needs = stage_dependencies(recipe)
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "open"
        path.append(name)
        for dep in needs.get(name, []):
            if state.get(dep) == "open":
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)) is not None:
                return cycle
        path.pop()
        state[name] = "done"
        return None

    for stage in recipe.stages:
        if stage.name not in state and (cycle := visit(stage.name)) is not None:
            return cycle
    return None


def stage_order(recipe: Recipe) -> list[str]:
    """Stages after everything they depend on; ties keep the order of the file."""
    needs = stage_dependencies(recipe)
    placed: list[str] = []
    remaining = [s.name for s in recipe.stages]
    while remaining:
        ready = [n for n in remaining if all(d in placed for d in needs[n])]
        if not ready:
            raise ValueError(f"stages {remaining} depend on each other in a cycle")
        placed.append(ready[0])
        remaining.remove(ready[0])
    return placed


def stage_seeds(recipe: Recipe) -> dict[str, list[int]]:
    """The seeds each stage runs for: its own `seeds`, else its parent's (base: the population)."""
    seeds = {BASE: recipe.base.seed_list}
    for name in stage_order(recipe):
        stage = recipe.stage(name)
        seeds[name] = list(stage.seeds) if stage.seeds is not None else list(seeds[stage.parent])
    return seeds


def models_per_seed(recipe: Recipe) -> dict[str, int]:
    """How many models a stage makes for one seed: its grid size times its parent's count."""
    counts = {BASE: 1}
    for name in stage_order(recipe):
        stage = recipe.stage(name)
        counts[name] = len(stage.choices()) * counts[stage.parent]
    return counts
