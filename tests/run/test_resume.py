"""A run killed with SIGKILL resumes: finished nodes are kept as they are, the rest are made.

Only the run's own process is killed; with a pool, its workers must then exit by themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
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


def start_run(
    recipe: Path, location: Path, workers: int, *options: str, **environment: str
) -> subprocess.Popen[bytes]:
    """`compresslens run` in its own process group, so cleanup can reach all it started."""
    source = Path(cl.__file__).resolve().parents[1]  # this checkout's, not an installed copy
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(source), str(TESTS), str(TESTS / "run")]),
        **environment,
    }
    arguments = ["run", str(recipe), "--workspace", str(location), "--workers", str(workers)]
    arguments += options
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


# -- many kills at random moments --------------------------------------------------------
SOAK_KILLS = 20
SOAK_RECIPE = BASE_RECIPE + (
    "  - name: pruned\n"
    "    op: prune.magnitude\n"
    "    grid: {amount: [0.3, 0.6]}\n"
    "  - name: slow\n"
    "    parent: pruned\n"
    "    op: sweep.slow\n"
    "    params: {seconds: 0.05}\n"
    "    grid: {tag: [0, 1]}\n"
    "    seeds: [0]\n"
)


def model_rows(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        return db.execute("SELECT count(*) FROM models").fetchone()[0]


def check_store(location: Path) -> tuple[list[str], list[str]]:
    """Assert the database is sound and every artifact row's file exists and verifies;
    return the files under the artifacts folder that no row names, and temporary files."""
    with contextlib.closing(sqlite3.connect(location / "compresslens.db", timeout=30)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = {digest for (digest,) in db.execute("SELECT sha256 FROM artifacts")}
    root = location / "artifacts"
    for digest in rows:
        path = root / digest[:2] / digest
        assert path.is_file(), f"artifact row {digest[:12]}… has no file"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} is corrupt"
    files = [p for p in root.rglob("*") if p.is_file()]
    partial = [str(p) for p in files if p.name.startswith(".tmp")]
    orphans = [str(p) for p in files if not p.name.startswith(".tmp") and p.name not in rows]
    return orphans, partial


def fresh_copy(template: Path, folder: Path) -> Path:
    shutil.copytree(template, folder)
    return folder


def kill_at_a_random_moment(
    recipe: Path, location: Path, chance: random.Random
) -> tuple[str, bool]:
    """Start `compresslens run`, SIGKILL it after a random delay or just after a new model
    row appears; check its workers are gone. Returns (how it was killed, ran to the end)."""
    workers = chance.choice([1, 1, 2])
    just_after_a_row = chance.random() < 0.5
    delay = chance.uniform(0.2, 3.0)
    database = location / "compresslens.db"
    rows = model_rows(database)
    process = start_run(recipe, location, workers)
    started: set[int] = set()
    try:
        began = time.monotonic()
        while process.poll() is None:
            started |= children_of(process.pid)
            if just_after_a_row and model_rows(database) > rows:
                break
            if not just_after_a_row and time.monotonic() - began > delay:
                break
            time.sleep(0.005)
        how = f"workers={workers} " + ("after a row" if just_after_a_row else f"{delay:.1f} s")
        if process.poll() is not None:
            assert process.returncode == 0, process.stderr.read()
            return how, True
        started |= children_of(process.pid)
        process.kill()
        process.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in started if alive(pid)], f"a worker outlived the run ({how})"
        return how, False
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_twenty_kills_at_random_moments_each_resume_makes_the_same_models(
    tmp_path: Path, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    """Kill `compresslens run` (and so its workers) again and again; after every kill the
    store is sound, and a resume ends with the uninterrupted run's models, bit for bit."""
    template = tmp_path / "template"
    ws = cl.Workspace(template)
    ws.add_dataset("digits", *digits, class_names=[str(i) for i in range(10)])
    ws.close()
    recipe_path = tmp_path / "soak.yaml"
    recipe_path.write_text(SOAK_RECIPE)
    recipe = recipe_from(tmp_path, SOAK_RECIPE)
    planned = {n.id for n in build_plan(recipe)}

    reference = cl.Workspace(fresh_copy(template, tmp_path / "reference"))
    assert run_recipe(recipe, reference).ok
    weights = {m.id: m.weights_artifact for m in reference.store.list_models()}
    reference.close()
    assert set(weights) == planned

    chance = random.Random(11)
    kills: list[str] = []
    rounds = 0
    while len(kills) < SOAK_KILLS:
        location = fresh_copy(template, tmp_path / f"round{rounds}")
        rounds += 1
        while len(kills) < SOAK_KILLS:
            how, finished = kill_at_a_random_moment(recipe_path, location, chance)
            if finished:
                break
            kills.append(how)
            check_store(location)  # sound after every kill; stray files are judged at the end
            with contextlib.closing(sqlite3.connect(location / "compresslens.db")) as db:
                rows = db.execute("SELECT id, weights_artifact, status FROM models").fetchall()
            # whatever was stored before the kill is one of the planned models, and a ready
            # one holds exactly the weights the uninterrupted run made
            assert {row[0] for row in rows} <= planned
            assert all(weights[i] == digest for i, digest, status in rows if status == "ready")
        resumed = cl.Workspace(location)
        summary = run_recipe(recipe, resumed)
        assert summary.ok, summary.failures
        stored = {m.id: m.weights_artifact for m in resumed.store.list_models()}
        assert stored == weights  # the same model ids, and the same weights bit for bit
        assert all(resumed.evaluations(i) for i in stored)
        resumed.close()
        orphans, partial = check_store(location)
        assert not orphans, f"files no row refers to: {orphans}"
        # a SIGKILL mid-write leaves its temporary file (no clean-up runs); gc removes them
        report = cl.Workspace(location).gc(grace_s=0)
        assert report.temporary_files == len(partial) and report.files == 0
        assert not check_store(location)[1], "gc left partially written files behind"
    after_a_row = sum("after a row" in how for how in kills)
    print(f"\n{len(kills)} kills in {rounds} rounds, {after_a_row} just after a row: {kills}")
    assert after_a_row >= 1
