"""Time the demo sweep: fresh workspaces with 1 and 2 workers, then a rerun that is all cache.

The cached rerun is timed twice, as medians of --repeats: end to end as a user waits for it
(`compresslens run RECIPE --workspace W` in a fresh process: start-up and imports included)
and in-process (load + plan + run after start-up), so the start-up share shows.

Run: `python benchmarks/bench_sweep.py [--workers 1 2] [--recipe PATH]` (default: the demo
recipe shipped in the package). Goals: the demo recipe within 6 minutes on 2 cores, the cached
rerun under 3 s end to end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compresslens.run import RunSummary, load_recipe, run_recipe
from compresslens.run.demo import DEMO_RECIPE
from compresslens.run.pool import available_cpus
from compresslens.workspace import Workspace
from timing import load_line

CACHED_GOAL_S = 3.0


def timed_run(recipe_path: Path, location: Path, workers: int) -> tuple[float, RunSummary]:
    """Wall time of load + plan + run, as `compresslens run` spends it after start-up."""
    started = time.perf_counter()
    ws = Workspace(location)
    summary = run_recipe(load_recipe(recipe_path), ws, workers=workers)
    ws.close()
    return time.perf_counter() - started, summary


def cli_run(recipe_path: Path, location: Path, workers: int) -> float:
    """Wall time of `compresslens run` in a fresh process, as a user waits for it."""
    script = Path(sys.executable).with_name("compresslens")  # the console script beside python
    command = [str(script), "run", str(recipe_path), "--workspace", str(location)]
    command += ["--workers", str(workers)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def describe(label: str, seconds: float, summary: RunSummary) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in summary.counts.items() if v)
    print(f"{label:<22} {seconds:7.1f} s   {len(summary.nodes)} nodes: {counts}")


def stage_seconds(summary: RunSummary) -> None:
    """Where the time of a fresh run goes (summed per stage, over workers)."""
    for row in summary.stage_rows()[1:]:
        print(f"    {row[0]:<22} {row[1]:>3} models  {row[-1]:>6} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", type=Path, default=DEMO_RECIPE)
    parser.add_argument("--repeats", type=int, default=3, help="cached reruns timed each way")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--keep", type=Path, help="keep the workspaces under this folder")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"recipe {args.recipe}, {available_cpus()} CPUs, workspaces under {root}")
    print(load_line())
    times: dict[int, float] = {}
    try:
        for workers in args.workers:
            location = root / f"workers-{workers}"
            shutil.rmtree(location, ignore_errors=True)
            seconds, summary = timed_run(args.recipe, location, workers)
            times[workers] = seconds
            describe(f"fresh, {workers} worker(s)", seconds, summary)
            stage_seconds(summary)
        workers = args.workers[-1]
        cached = [timed_run(args.recipe, location, workers) for _ in range(args.repeats)]
        in_process = statistics.median(seconds for seconds, _ in cached)
        describe("rerun (cache)", in_process, cached[-1][1])
        assert all(s.counts["cached"] == len(s.nodes) for _, s in cached), "a rerun computed"
        end_to_end = statistics.median(
            cli_run(args.recipe, location, workers) for _ in range(args.repeats)
        )
        print(
            f"cached rerun, median of {args.repeats}: {end_to_end:.2f} s end to end "
            f"(`compresslens run`, a fresh process), {in_process:.2f} s in-process "
            f"(start-up and imports: {end_to_end - in_process:.2f} s)"
        )
        verdict = "meets" if end_to_end < CACHED_GOAL_S else "MISSES"
        print(f"cached rerun end to end {verdict} the {CACHED_GOAL_S:.0f} s goal")
        first = args.workers[0]
        for workers in args.workers[1:]:
            ratio = times[first] / times[workers]
            print(f"speed-up {workers} vs {first} worker(s): {ratio:.2f}x")
        print(load_line())
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
