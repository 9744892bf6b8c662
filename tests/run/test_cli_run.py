"""`compresslens run RECIPE`: a summary (or JSON), exit 1 listing failures, clear recipe errors."""

from __future__ import annotations

import json
from pathlib import Path

from sweep_helpers import BASE_RECIPE, write_recipe
from test_executor import FAILING_RECIPE
from typer.testing import CliRunner, Result

import compresslens as cl
from compresslens.cli.main import app

runner = CliRunner()


def invoke(recipe: Path, ws: cl.Workspace, *extra: str) -> Result:
    return runner.invoke(app, ["run", str(recipe), "--workspace", ws.location, *extra])


def test_run_json_counts_every_node(tmp_path: Path, digits_workspace: cl.Workspace) -> None:
    result = invoke(write_recipe(tmp_path, BASE_RECIPE), digits_workspace, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["counts"] == {"done": 6, "cached": 0, "failed": 0, "skipped": 0}
    assert document["total"] == 6 and len(document["nodes"]) == 6
    node = document["nodes"][0]
    assert set(node) == {"id", "name", "stage", "seed", "label", "status", "wall_time_s", "error"}


def test_run_prints_a_table_per_stage_and_reruns_cached(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = write_recipe(tmp_path, BASE_RECIPE)
    assert invoke(recipe, digits_workspace).exit_code == 0
    result = invoke(recipe, digits_workspace)
    assert result.exit_code == 0, result.output
    assert "scaled" in result.stdout and "cached" in result.stdout
    assert "6 models" in result.stdout


def test_failures_exit_1_and_are_listed(tmp_path: Path, digits_workspace: cl.Workspace) -> None:
    result = invoke(write_recipe(tmp_path, FAILING_RECIPE), digits_workspace, "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["counts"]["failed"] == 2
    assert result.output.count("failed: risky[") == 2
    assert "sweep.fail was told to fail" in result.output


def test_a_bad_recipe_exits_1_naming_its_line(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = write_recipe(tmp_path, BASE_RECIPE.replace("sweep.scale", "sweep.scal"))
    result = invoke(recipe, digits_workspace)
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "recipe.yaml:14: stages[0].op: unknown operation 'sweep.scal'" in output
