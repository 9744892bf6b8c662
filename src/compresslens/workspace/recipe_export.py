"""A model's operation chain from its root, written as a recipe that `compresslens run`
replays into the same model (`Workspace.export_recipe`).

The root is referenced by name (`base: {model: …}`): a registered or trained root is not
re-derived, so the workspace that runs the recipe must hold it. Each step is one stage with
the stored, normalized parameters (an exclude list or a mixed-precision plan from
sensitivity is such a parameter) and the edge's seed; the child ids are content hashes of
parent, operation, parameters and seed, so the rerun makes the very same ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from compresslens.errors import InvalidChoiceError
from compresslens.ops.registry import get_operation
from compresslens.records import EvaluationInfo, ModelInfo

BASE_STAGE = "base"  # the recipe schema's name of the root population (run/recipe_schema.py)


def export_recipe(
    lineage: Sequence[ModelInfo],
    evaluations: Sequence[EvaluationInfo],
    keep: Sequence[str] = (),
) -> str:
    """The recipe (YAML) that rebuilds `lineage[-1]` from `lineage[0]`, evaluated where it was.

    `keep` names modules to leave as the root's: they join the `exclude` list of every step
    whose operation has one (e.g. attribution's greedy set, or sensitivity's most sensitive
    layers), so the recipe makes the same chain without compressing them."""
    root, steps = lineage[0], list(lineage[1:])
    model = lineage[-1]
    if not steps:
        raise InvalidChoiceError(
            f"{model.name!r} is a root (no operation made it): there is no chain to export"
        )
    kept = list(dict.fromkeys(keep))
    excluding = [s for s in steps if kept and _takes_exclude(s)]
    if kept and not excluding:
        raise InvalidChoiceError(
            f"no operation on the chain of {model.name!r} takes an exclude list: "
            f"{', '.join(kept)} cannot be kept from it"
        )
    stage_of = {root.id: BASE_STAGE}
    stages: list[dict[str, Any]] = []
    plugins: list[str] = []
    for index, step in enumerate(steps, 1):
        edge = _replayable(step)
        name = f"step{index}-{edge.name}"
        stage: dict[str, Any] = {"name": name, "parent": stage_of[edge.parents[0]["id"]]}
        params = dict(edge.params)
        if step in excluding:
            params["exclude"] = list(dict.fromkeys([*params.get("exclude", []), *kept]))
        stage.update({"op": edge.name, "params": params})
        teachers = [p["id"] for p in edge.parents if p["role"] == "teacher"]
        if teachers:
            if teachers[0] not in stage_of:
                raise InvalidChoiceError(
                    f"{step.name!r} was distilled from {teachers[0]}, which is not on the chain "
                    f"from the root {root.name!r}; a recipe can only name a teacher it makes"
                )
            stage["teacher"] = stage_of[teachers[0]]
        stages.append(stage)
        stage_of[step.id] = name
        module = get_operation(edge.name).apply.__module__
        if not module.startswith("compresslens.") and module not in plugins:
            plugins.append(module)
    name = f"export-{model.id[:12]}" + ("-keep" if kept else "")
    recipe: dict[str, Any] = {"name": name, "threads": _threads(steps)}
    if plugins:
        recipe["plugins"] = plugins
    used = _datasets_used(steps, evaluations)
    if used:
        recipe["datasets"] = {name: {} for name in used}
    recipe["base"] = {"model": root.name, "seeds": [_seed(steps)]}
    if evaluations:
        recipe["evaluate"] = _evaluate(model, evaluations)
    recipe["stages"] = stages
    header = (
        f"# Rebuilds {model.name} ({model.id}) from its root {root.name} ({root.id}):\n"
        f"#   compresslens run THIS.yaml --workspace W   (W must hold the root)\n"
    )
    if kept:
        header = (
            f"# The chain of {model.name} ({model.id}) from its root {root.name} ({root.id}),\n"
            f"# keeping {', '.join(kept)} as the root's (added to every exclude list):\n"
            f"#   compresslens run THIS.yaml --workspace W   (W must hold the root)\n"
        )
    return header + yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True)


def _takes_exclude(step: ModelInfo) -> bool:
    """Whether the step's operation has an `exclude` list of module names."""
    edge = step.operation
    return edge is not None and "exclude" in get_operation(edge.name).params.model_fields


def _replayable(step: ModelInfo) -> Any:
    edge = step.operation
    if edge is None or not edge.parents:
        raise InvalidChoiceError(f"{step.name!r} has no parent: it cannot be a step of a chain")
    if step.status != "ready" or edge.status == "failed":
        raise InvalidChoiceError(f"{step.name!r} is {step.status}, not ready: nothing to rebuild")
    try:
        get_operation(edge.name)
    except Exception:  # an operation logged from elsewhere (log_model) replays nothing here
        raise InvalidChoiceError(
            f"{step.name!r} was made by {edge.name!r}, which is not a registered operation "
            "(a model logged from elsewhere): a recipe cannot reproduce it"
        ) from None
    return edge


def _seed(steps: list[ModelInfo]) -> int:
    """One seed for the chain: a recipe runs every stage of a chain with the same seed."""
    seeds = {
        0 if s.operation is None or s.operation.seed is None else s.operation.seed for s in steps
    }
    if len(seeds) != 1:
        raise InvalidChoiceError(
            f"the chain's steps ran with seeds {sorted(seeds)}; a recipe runs a chain with one seed"
        )
    return seeds.pop()


def _threads(steps: list[ModelInfo]) -> int:
    """The torch thread count the steps ran with (it fixes the float reduction order)."""
    counts = {s.operation.threads for s in steps if s.operation and s.operation.threads}
    if len(counts) > 1:
        raise InvalidChoiceError(
            f"the chain's steps ran with {sorted(counts)} torch threads; a recipe runs with one "
            "count, so it could not rebuild the same weights"
        )
    return counts.pop() if counts else 1


def _datasets_used(steps: list[ModelInfo], evaluations: Sequence[EvaluationInfo]) -> list[str]:
    """Datasets the steps' parameters name (e.g. gradient pruning's) and the evaluations'."""
    names = [e.dataset_name for e in evaluations]
    for step in steps:
        value = step.operation.params.get("dataset") if step.operation else None
        if isinstance(value, str):
            names.append(value)
    return list(dict.fromkeys(names))


def _evaluate(model: ModelInfo, evaluations: Sequence[EvaluationInfo]) -> dict[str, Any]:
    """Evaluate as the model was: the same datasets, logits and features where they were kept."""
    return {
        "datasets": [e.dataset_name for e in evaluations],
        "logits": any(e.has_logits for e in evaluations),
        "features": any(e.has_features for e in evaluations),
        "latency": any(key.startswith("latency") for key in model.efficiency),
    }
