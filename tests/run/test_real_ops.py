"""The shipped operations in a sweep: a digits population pruned, quantized, tuned, distilled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sweep_helpers import recipe_from

import compresslens as cl
from compresslens.models.zoo import DEMO_TRAINING
from compresslens.ops.registry import registered_operations
from compresslens.run import build_plan, load_recipe, run_recipe
from compresslens.run.demo import demo_recipe_path

REAL_RECIPE = """\
datasets:
  digits: {}
base:
  factory: factories:digits_mlp
  train: {dataset: digits, epochs: 3, batch_size: 128, lr: 0.01}
  seeds: 2
evaluate:
  datasets: [digits]
  logits: true
  features: true
  latency: false
stages:
  - name: magnitude
    op: prune.magnitude
    params: {scope: global}
    grid: {amount: [0.5, 0.9]}
  - name: int8
    op: quantize.dynamic_int8
  - name: finetuned
    parent: magnitude
    op: train.finetune
    params: {dataset: digits, epochs: 1}
    seeds: [0]
  - name: distilled
    parent: magnitude
    teacher: base
    op: train.distill
    params: {dataset: digits, epochs: 1}
    seeds: [0]
  - name: lowrank
    op: lowrank.svd
    params: {rank: 4}
    seeds: [0]
  - name: fp16
    op: cast.fp16
    seeds: [0]
"""
NEEDED = {
    "prune.magnitude",
    "quantize.dynamic_int8",
    "train.finetune",
    "train.distill",
    "lowrank.svd",
    "cast.fp16",
}


def test_every_operation_the_sweep_uses_is_registered() -> None:
    """A shipped operation that stops registering is a regression, never a reason to skip.

    All of them need only required dependencies (torchao and torch-pruning included), so
    there is no optional back-end whose absence could excuse a missing one.
    """
    missing = NEEDED - set(registered_operations())
    assert not missing, f"shipped operations not registered: {sorted(missing)}"


@pytest.mark.slow
def test_a_sweep_with_the_shipped_operations_runs_and_is_cached(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = recipe_from(tmp_path, REAL_RECIPE)
    summary = run_recipe(recipe, digits_workspace)
    assert summary.ok, [f.error for f in summary.failures]
    assert summary.counts["done"] == 2 + 4 + 2 + 2 + 2 + 1 + 1
    for node in summary.nodes:
        assert digits_workspace.evaluation(node.id, "digits").metrics["accuracy"] > 0.1
    assert run_recipe(recipe, digits_workspace).counts["cached"] == len(summary.nodes)


def test_the_demo_recipe_is_valid_and_sized_for_the_demo() -> None:
    """Planning reads no data, so this holds on machines without Fashion-MNIST too."""
    recipe = load_recipe(demo_recipe_path())
    plan = build_plan(recipe)
    per_stage = Counter(n.stage for n in plan)
    assert 40 <= len(plan) <= 80
    assert per_stage["base"] >= 5
    populations = Counter(
        (n.stage, tuple(n.choices)) for n in plan if n.stage in ("magnitude", "int8")
    )
    assert sum(1 for count in populations.values() if count >= 5) >= 3  # 2+ levels and int8


def test_the_demo_population_trains_with_the_zoos_measured_settings() -> None:
    recipe = load_recipe(demo_recipe_path())
    settings = dict(DEMO_TRAINING["lean_cnn"])
    assert recipe.base.factory == "compresslens.models.zoo:lean_cnn"
    assert recipe.base.train is not None
    assert recipe.datasets[recipe.base.train.dataset].limit == settings.pop("train_size")
    assert recipe.base.train.model_dump(include=set(settings)) == settings
    assert "fashion-mnist-test" in recipe.evaluate.datasets  # `compresslens demo` relies on it
