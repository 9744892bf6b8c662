"""A run killed with SIGKILL resumes: finished nodes are kept as they are, the rest are made.

Only the run's own process is killed; with a pool, its workers must then exit by themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_helpers import BASE_RECIPE, recipe_from

import compresslens as cl
from compresslens.run import build_plan, run_recipe

TESTS = Path(__file__).resolve().parents[1]
SLOW_RECIPE = BASE_RECIPE.replace("seeds: 2", "seeds: 1") + (
    "  - name: slow\n"
    "    op: sweep.slow\n"
    "    params: {seconds: 0.5}\n"
    "    grid: {tag: [0, 1, 2, 3, 4, 5]}\n"
    "    seeds: [0]\n"
)
CLI = "from compresslens.cli.main import main; main()"


def start_run(recipe: Path, location: Path, workers: int) -> subprocess.Popen[bytes]:
    """`compresslens run` in its own process group, so cleanup can reach all it started."""
    source = Path(cl.__file__).resolve().parents[1]  # this checkout's, not an installed copy
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(source), str(TESTS), str(TESTS / "run")]),
    }
    arguments = ["run", str(recipe), "--workspace", str(location), "--workers", str(workers)]
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def children_of(pid: int) -> set[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def ready_ids(ws: cl.Workspace, ids: set[str]) -> set[str]:
    return {row.id for row in ws.store.list_models() if row.id in ids and row.status == "ready"}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_run_resumes_without_recomputing_finished_nodes(
    tmp_path: Path, digits_workspace: cl.Workspace, workers: int
) -> None:
    recipe_path = tmp_path / "slow.yaml"
    recipe_path.write_text(SLOW_RECIPE)
    recipe = recipe_from(tmp_path, SLOW_RECIPE)
    plan = build_plan(recipe)
    slow_ids = {n.id for n in plan.stage_nodes("slow")}
    process = start_run(recipe_path, Path(digits_workspace.location), workers)
    try:
        deadline = time.monotonic() + 120
        while not ready_ids(digits_workspace, slow_ids):
            if process.poll() is not None:
                pytest.fail(f"the run ended before it could be killed: {process.stderr.read()}")
            assert time.monotonic() < deadline, "no slow node was stored within 120 s"
            time.sleep(0.02)
        # kill only the run's own process: its pool workers must notice and exit by themselves
        workers_left = children_of(process.pid)
        process.kill()
        process.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers_left) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {p: Path(f"/proc/{p}/cmdline").read_bytes() for p in workers_left if alive(p)}
        assert not left, f"a worker outlived the killed run: {left}"
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()

    before = {m.id: m.created_at for m in digits_workspace.models()}
    finished_before = ready_ids(digits_workspace, slow_ids)
    assert 1 <= len(finished_before) < len(slow_ids), "the kill came too late to test a resume"
    evaluated_before = {i for i in before if digits_workspace.evaluations(i)}

    summary = run_recipe(recipe, digits_workspace)
    assert summary.ok
    assert summary.counts["done"] + summary.counts["cached"] == len(plan)
    cached = {n.id for n in summary.of("cached")}
    assert evaluated_before - {digits_workspace.model("mlp").id} <= cached
    after = {m.id: m.created_at for m in digits_workspace.models()}
    # every planned node exists exactly once; nothing made before the kill was made again
    assert set(after) == {n.id for n in plan} | {digits_workspace.model("mlp").id}
    assert len(after) == len(digits_workspace.store.list_models())
    assert all(after[i] == created for i, created in before.items())
    assert run_recipe(recipe, digits_workspace).counts["cached"] == len(plan)
