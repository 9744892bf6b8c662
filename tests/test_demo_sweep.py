"""The demo's path end to end on real Fashion-MNIST, scaled down: populations, compression,
evaluation, PIEs per level, comparison and the CLI, all from one recipe run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app
from compresslens.run import load_recipe, run_recipe
from compresslens.run.demo import demo_recipe_path

SMALL_DEMO = """\
name: small-demo
datasets:
  train: {source: fashion-mnist, split: train, limit: 3000}
  test: {source: fashion-mnist, split: test, limit: 2000}
base:
  factory: compresslens.models.zoo:lean_cnn
  kwargs: {num_classes: 10}
  train: {dataset: train, epochs: 1, batch_size: 64, lr: 0.003}
  seeds: 3
evaluate: {datasets: [test], logits: true, features: true, latency: false}
stages:
  - name: magnitude
    op: prune.magnitude
    params: {scope: global}
    grid: {amount: [0.5, 0.95]}
  - name: int8
    op: quantize.dynamic_int8
  - name: structured
    op: prune.structured
    params: {amount: 0.5}
    seeds: [0]
"""


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory: pytest.TempPathFactory) -> cl.Workspace:
    folder = tmp_path_factory.mktemp("demo")
    recipe = folder / "recipe.yaml"
    recipe.write_text(SMALL_DEMO)
    ws = cl.Workspace(folder / "ws")
    summary = run_recipe(load_recipe(recipe), ws)
    assert summary.ok and summary.counts["done"] == 3 + 3 * 2 + 3 + 1
    return ws


def test_the_shipped_demo_recipe_is_valid_and_plans_40_to_80_models() -> None:
    from compresslens.run.plan import build_plan

    plan = build_plan(load_recipe(demo_recipe_path()))
    assert 40 <= len(plan.nodes) <= 80


@pytest.mark.slow
def test_every_model_is_evaluated_on_the_real_test_split(demo_like: cl.Workspace) -> None:
    models = demo_like.models()
    assert len(models) == 13
    for model in models:
        accuracy = model.metrics["test"]["accuracy"]
        assert 0.1 <= accuracy <= 1.0
        assert model.efficiency["macs"] > 0
    baselines = demo_like.select("op:train.scratch")
    assert min(m.metrics["test"]["accuracy"] for m in baselines) > 0.7


@pytest.mark.slow
def test_pies_grow_with_sparsity(demo_like: cl.Workspace) -> None:
    levels = demo_like.pies_by_level("op:train.scratch", "tag:stage:magnitude", "amount")
    counts = [level["summary"]["pie_count"] for level in levels]
    assert [level["level"]["amount"] for level in levels] == [0.5, 0.95]
    assert counts[0] < counts[1]


@pytest.mark.slow
def test_structured_pruning_is_smaller_and_cheaper(demo_like: cl.Workspace) -> None:
    (structured,) = demo_like.select("op:prune.structured")
    base = demo_like.model(structured.parent_ids[0])
    assert structured.efficiency["parameters"] < base.efficiency["parameters"] / 2
    assert structured.efficiency["macs"] < base.efficiency["macs"] / 2


@pytest.mark.slow
def test_cli_pies_by_level_on_the_workspace(demo_like: cl.Workspace) -> None:
    result = CliRunner().invoke(
        app,
        [
            "pies",
            "--baseline",
            "op:train.scratch",
            "--compressed",
            "tag:stage:magnitude",
            "--by",
            "amount",
            "-w",
            demo_like.location,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    levels = json.loads(result.stdout)["levels"]
    assert len(levels) == 2 and all(len(level["classes"]) == 10 for level in levels)


@pytest.mark.slow
def test_compare_on_real_data_reports_class_names(demo_like: cl.Workspace) -> None:
    base = demo_like.select("op:train.scratch&tag:seed:0")[0]
    pruned = demo_like.select("tag:stage:magnitude&amount=0.95&tag:seed:0")[0]
    rows = demo_like.compare(base, pruned, n_boot=100).per_class()
    assert [r["class"] for r in rows][:2] == ["T-shirt/top", "Trouser"]
    assert Path(demo_like.location).is_dir()
