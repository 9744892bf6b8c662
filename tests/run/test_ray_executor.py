"""Sweeps on Ray: the same node ids, metrics and weights as the local executor, the same
caching and resume, per-node resources, and retries of nodes whose worker died.

One local Ray instance (2 CPUs, a temporary folder) serves the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sweep_helpers import BASE_RECIPE, recipe_from, write_recipe
from test_executor import FAILING_RECIPE
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app
from compresslens.run import build_plan, run_recipe
from compresslens.run.errors import ExecutorError
from compresslens.run.ray_executor import RayOptions

BASE_ONLY = BASE_RECIPE.split("stages:")[0] + "stages: []\n"


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths are limited
    modules = os.pathsep.join(p for p in sys.path if p)  # sweep_ops and factories, for workers
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=temp,
        runtime_env={"env_vars": {"PYTHONPATH": modules}},
    )
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def digits_copy(source: cl.Workspace, location: Path) -> cl.Workspace:
    ws = cl.Workspace(location)
    arrays = source.load_dataset("digits")
    ws.add_dataset("digits", arrays.inputs, arrays.labels, attributes=arrays.attributes)
    return ws


def weights(ws: cl.Workspace) -> dict[str, str | None]:
    return {row.id: row.weights_artifact for row in ws.store.list_models()}


def metrics(ws: cl.Workspace) -> dict[str, Any]:
    return {m.id: m.metrics for m in ws.models()}


@pytest.mark.slow
def test_ray_makes_the_models_the_local_executor_makes(
    tmp_path: Path, digits_workspace: cl.Workspace, ray_instance: Any
) -> None:
    """Same node ids and outcomes, metrics equal, weights bit for bit (1 thread on both)."""
    recipe = recipe_from(tmp_path, FAILING_RECIPE)
    local = digits_copy(digits_workspace, tmp_path / "local")
    on_ray = digits_copy(digits_workspace, tmp_path / "ray")
    here = run_recipe(recipe, local, workers=2)
    there = run_recipe(recipe, on_ray, workers=2, executor="ray")
    assert {n.id: n.status for n in there.nodes} == {n.id: n.status for n in here.nodes}
    assert there.counts == {"done": 10, "cached": 0, "failed": 2, "skipped": 2}
    assert weights(on_ray) == weights(local)
    assert metrics(on_ray) == metrics(local)
    failure = next(n for n in there.nodes if n.status == "failed")
    assert "sweep.fail was told to fail" in (failure.error or "")
    again = run_recipe(recipe, on_ray, executor="ray")  # cached: only the failures run again
    assert again.counts == {"done": 0, "cached": 10, "failed": 2, "skipped": 2}


@pytest.mark.slow
def test_ray_resumes_a_sweep_the_local_executor_started(
    tmp_path: Path, digits_workspace: cl.Workspace, ray_instance: Any
) -> None:
    run_recipe(recipe_from(tmp_path, BASE_ONLY), digits_workspace)
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    summary = run_recipe(recipe, digits_workspace, executor="ray")
    assert {n.stage for n in summary.of("cached")} == {"base"}
    assert summary.counts == {"done": 4, "cached": 2, "failed": 0, "skipped": 0}
    assert {n.id for n in build_plan(recipe)} <= set(weights(digits_workspace))


@pytest.mark.slow
def test_a_node_whose_ray_worker_dies_is_retried(
    tmp_path: Path, digits_workspace: cl.Workspace, ray_instance: Any
) -> None:
    stage = "  - {name: flaky, op: sweep.crash_once, params: {marker: '%s'}, seeds: [0]}\n"
    retried = BASE_RECIPE + stage % (tmp_path / "first-try")
    summary = run_recipe(recipe_from(tmp_path, retried), digits_workspace, executor="ray")
    assert summary.ok and summary.counts["done"] == 2 + 4 + 1
    once = BASE_RECIPE + stage % (tmp_path / "no-retry")
    ray = RayOptions(retries=0)
    summary = run_recipe(recipe_from(tmp_path, once), digits_workspace, executor="ray", ray=ray)
    assert [n.stage for n in summary.failures] == ["flaky"]
    assert "Ray task failed (0 retries)" in (summary.failures[0].error or "")
    assert summary.counts == {"done": 0, "cached": 6, "failed": 1, "skipped": 0}


@pytest.mark.slow
def test_each_node_gets_its_stage_resources(
    tmp_path: Path, digits_workspace: cl.Workspace, ray_instance: Any
) -> None:
    text = BASE_RECIPE.replace("stages:\n", "resources: {cpus: 1}\nstages:\n") + (
        "  - name: wide\n"
        "    op: sweep.record_resources\n"
        f"    params: {{marker: '{tmp_path / 'assigned'}'}}\n"
        "    resources: {cpus: 2}\n"
        "    seeds: [0]\n"
    )
    summary = run_recipe(recipe_from(tmp_path, text), digits_workspace, executor="ray")
    assert summary.ok
    assert json.loads((tmp_path / "assigned").read_text())["CPU"] == 2


def test_cli_runs_a_recipe_on_ray(
    tmp_path: Path, digits_workspace: cl.Workspace, ray_instance: Any
) -> None:
    recipe = write_recipe(tmp_path, BASE_RECIPE)
    arguments = ["run", str(recipe), "--workspace", digits_workspace.location, "--json"]
    result = CliRunner().invoke(app, [*arguments, "--executor", "ray", "--retries", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == {
        "done": 6,
        "cached": 0,
        "failed": 0,
        "skipped": 0,
    }


def test_an_unknown_executor_is_refused_before_anything_runs(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = write_recipe(tmp_path, BASE_RECIPE)
    arguments = ["run", str(recipe), "--workspace", digits_workspace.location]
    result = CliRunner().invoke(app, [*arguments, "--executor", "slurm"])
    assert result.exit_code == 1
    assert "unknown executor 'slurm': use one of local, ray" in result.output
    assert len(digits_workspace.models()) == 1  # the fixture's mlp only


def test_without_ray_installed_the_error_names_the_extra(
    tmp_path: Path, digits_workspace: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ExecutorError, match=r"pip install 'compresslens\[ray\]'"):
        run_recipe(recipe_from(tmp_path, BASE_RECIPE), digits_workspace, executor="ray")
