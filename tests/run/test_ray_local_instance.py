"""`--executor ray` with no cluster: the run starts a local Ray instance, and stops it after
(or, killed, takes its Ray workers with it).

A module of its own: the other Ray tests share one instance, which this one must not find.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from sweep_helpers import BASE_RECIPE, recipe_from
from test_resume import SOAK_RECIPE, alive, model_rows, start_run
from test_worker_lifetime import clean_up, descendants_of

import compresslens as cl
from compresslens.run import build_plan, run_recipe


@pytest.mark.slow
def test_a_run_starts_a_local_ray_instance_and_stops_it(
    tmp_path: Path, digits_workspace: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    # Ray's sockets live under its temporary folder, whose path length is limited: keep it short
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", temp)
    try:
        summary = run_recipe(
            recipe_from(tmp_path, BASE_RECIPE), digits_workspace, workers=2, executor="ray"
        )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert summary.counts == {"done": 6, "cached": 0, "failed": 0, "skipped": 0}
    assert not ray.is_initialized()  # started for the run, shut down with it


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_killed_ray_run_leaves_no_worker_behind_and_resumes(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    """SIGKILL `compresslens run --executor ray` once models appear: Ray's workers, raylet
    and GCS go with it (its two agent processes exit by themselves, later); a resume with
    the local executor keeps what was made and makes the rest."""
    pytest.importorskip("ray")
    recipe_path = tmp_path / "soak.yaml"
    recipe_path.write_text(SOAK_RECIPE)
    location = Path(digits_workspace.location)
    before = {m.id for m in digits_workspace.models()}
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    process = start_run(recipe_path, location, 2, "--executor", "ray", RAY_TMPDIR=temp)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while model_rows(location / "compresslens.db") < len(before) + 2:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "no model stored within 180 s"
            started |= descendants_of(process.pid)
            time.sleep(0.05)
        started |= descendants_of(process.pid)
        process.kill()
        process.wait()
        deadline = time.monotonic() + 10
        while [p for p in started if alive(p) and not ray_agent(p)] and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {p: command_line(p) for p in started if alive(p) and not ray_agent(p)}
        assert not left, f"Ray processes outlived the killed run: {left}"
    finally:
        clean_up(process, started)
        shutil.rmtree(temp, ignore_errors=True)
    recipe = recipe_from(tmp_path, SOAK_RECIPE)
    made = {m.id for m in digits_workspace.models()} - before
    # a model killed before its evaluation is evaluated by the resume ("done"), not cached
    evaluated = {i for i in made if digits_workspace.evaluations(i)}
    summary = run_recipe(recipe, digits_workspace)
    assert summary.ok
    assert evaluated <= {n.id for n in summary.of("cached")}
    assert made <= {n.id for n in summary.of("cached")} | {n.id for n in summary.of("done")}
    assert {m.id for m in digits_workspace.models()} - before == {n.id for n in build_plan(recipe)}


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def ray_agent(pid: int) -> bool:
    """Ray's dashboard and runtime-env agents: they notice a dead raylet within ~90 s."""
    return command_line(pid).startswith(("ray::DashboardAgent", "ray::RuntimeEnvAgent"))
