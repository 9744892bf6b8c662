"""pareto / export-recipe / behaviour-metrics on the command line: --json shapes and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import fails, succeeds

import compresslens as cl
from compresslens.run import load_recipe


def test_pareto_json_lists_the_frontier_with_each_objectives_values(sized: cl.Workspace) -> None:
    objectives = ("--objective", "bytes", "--objective", "nfr", "--objective", "accuracy")
    document = json.loads(succeeds("pareto", *objectives, "-w", sized.location, "--json"))
    assert set(document) == {"dataset", "objectives", "frontier", "dominated", "excluded"}
    assert [o["metric"] for o in document["objectives"]] == [
        "compressed_bytes",
        "negative_flip_rate",
        "accuracy",
    ]
    assert [r["name"] for r in document["frontier"]] == ["p8", "p5", "p5-ft", "base"]
    assert set(document["frontier"][0]) == {"id", "name", "values"}
    assert [r["name"] for r in document["dominated"]] == ["p8-big"]
    assert [(r["name"], r["missing"]) for r in document["excluded"]] == [
        ("unsized", ["compressed_bytes"])
    ]


def test_pareto_text_names_the_frontier_and_counts_the_rest(sized: cl.Workspace) -> None:
    text = succeeds(
        "pareto", "--objective", "bytes", "--objective", "accuracy:max", "-w", sized.location
    )
    assert "Pareto frontier on abc: 4 models" in text
    assert "dominated: 1 models" in text
    assert "excluded (no compressed_bytes): 1 models" in text


def test_pareto_refuses_an_unknown_metric_naming_the_known_ones(sized: cl.Workspace) -> None:
    message = fails("pareto", "--objective", "bytes", "--objective", "acc:up", "-w", sized.location)
    assert "must be min or max" in message


def test_export_recipe_writes_a_recipe_the_runner_reads(
    pruned: cl.Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "again.yaml"
    succeeds("export-recipe", "mlp-70", "-o", str(target), "-w", pruned.location)
    recipe = load_recipe(target)
    assert recipe.base.model == "mlp"
    assert [(s.op, s.params["amount"]) for s in recipe.stages] == [("prune.magnitude", 0.7)]
    assert recipe.evaluate.datasets == ["digits"] and recipe.evaluate.logits


def test_export_recipe_of_a_root_is_refused(pruned: cl.Workspace) -> None:
    assert "is a root" in fails("export-recipe", "mlp", "-w", pruned.location)


def test_behaviour_metrics_json_lists_what_it_wrote(sized: cl.Workspace) -> None:
    document = json.loads(succeeds("behaviour-metrics", "--force", "-w", sized.location, "--json"))
    assert len(document["written"]) == 6
    assert {"model", "dataset", "metrics"} == set(document["written"][0])
    by_name = {r["model"]: r["metrics"] for r in document["written"]}
    assert by_name["p8"]["negative_flip_rate"] == pytest.approx(5 / 12)
