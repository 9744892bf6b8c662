"""Pool workers never outlive the run that started them, whatever they are doing when it dies.

Each test kills only `compresslens run` itself (SIGKILL), as the OOM killer or a user would,
then polls until every process it had started is gone (a generous bound, not a speed test).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sweep_helpers import BASE_RECIPE
from test_resume import alive, children_of, start_run

import compresslens as cl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]
GONE_WITHIN_S = 5.0  # a dead parent's workers go at once; this only bounds a busy machine


def descendants_of(pid: int) -> set[int]:
    """Every process below `pid`: workers, and anything a worker started in turn."""
    found, frontier = set(), {pid}
    while frontier:
        children = set().union(*(children_of(p) for p in frontier)) - found
        found |= children
        frontier = children
    return found


def kill_and_wait(process: subprocess.Popen[bytes], started: set[int]) -> dict[int, bytes]:
    """SIGKILL the run alone; the processes it started that are still alive after the bound."""
    process.kill()
    process.wait()
    deadline = time.monotonic() + GONE_WITHIN_S
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = {}
    for pid in started:
        with contextlib.suppress(OSError):
            if alive(pid):
                left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
    return left


def clean_up(process: subprocess.Popen[bytes], started: set[int]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()


def wait_for(condition: object, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():  # type: ignore[operator]
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {process.stderr.read()}")
        assert time.monotonic() < deadline, f"no {what} within 120 s"
        time.sleep(0.01)


def test_workers_in_a_long_native_call_die_with_the_run(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    """Both workers sleep in C holding the GIL, so no Python thread of theirs can run."""
    marker = tmp_path / "started"
    recipe = tmp_path / "held.yaml"
    recipe.write_text(
        BASE_RECIPE.replace("seeds: 2", "seeds: 1").split("stages:")[0]
        + "stages:\n"
        + "  - name: held\n"
        + "    op: sweep.hold_gil\n"
        + f"    params: {{seconds: 60, marker: '{marker}'}}\n"
        + "    grid: {tag: [0, 1]}\n"
    )
    process = start_run(recipe, Path(digits_workspace.location), workers=2)
    started: set[int] = set()
    try:
        wait_for(lambda: len(list(tmp_path.glob("started.*"))) == 2, process, "two held calls")
        started = descendants_of(process.pid)
        assert len(started) >= 2
        left = kill_and_wait(process, started)
        assert not left, f"workers outlived the killed run by {GONE_WITHIN_S} s: {left}"
    finally:
        clean_up(process, started)


def test_workers_killed_while_starting_up_die_with_the_run(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    """The run dies the moment its workers appear, before they have imported anything."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(BASE_RECIPE)
    process = start_run(recipe, Path(digits_workspace.location), workers=2)
    started: set[int] = set()
    try:
        wait_for(lambda: len(children_of(process.pid)) >= 2, process, "two workers")
        started = descendants_of(process.pid)
        left = kill_and_wait(process, started)
        assert not left, f"workers outlived the killed run by {GONE_WITHIN_S} s: {left}"
    finally:
        clean_up(process, started)
