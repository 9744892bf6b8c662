"""Time the demo sweep: fresh workspaces with 1 and 2 workers, then a rerun that is all cache.

Run: `python benchmarks/bench_sweep.py [--workers 1 2] [--recipe PATH]` (default: the demo recipe).
The goals: the demo recipe within 6 minutes on 2 cores, the cached rerun under 3 s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from compresslens.run import RunSummary, load_recipe, run_recipe
from compresslens.run.pool import available_cpus
from compresslens.workspace import Workspace

DEMO = Path(__file__).resolve().parents[1] / "recipes" / "demo.yaml"
CACHED_GOAL_S = 3.0


def timed_run(recipe_path: Path, location: Path, workers: int) -> tuple[float, RunSummary]:
    """Wall time of load + plan + run, as `compresslens run` spends it after start-up."""
    started = time.perf_counter()
    ws = Workspace(location)
    summary = run_recipe(load_recipe(recipe_path), ws, workers=workers)
    ws.close()
    return time.perf_counter() - started, summary


def describe(label: str, seconds: float, summary: RunSummary) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in summary.counts.items() if v)
    print(f"{label:<22} {seconds:7.1f} s   {len(summary.nodes)} nodes: {counts}")


def stage_seconds(summary: RunSummary) -> None:
    """Where the time of a fresh run goes (summed per stage, over workers)."""
    for row in summary.stage_rows()[1:]:
        print(f"    {row[0]:<22} {row[1]:>3} models  {row[-1]:>6} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", type=Path, default=DEMO)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--keep", type=Path, help="keep the workspaces under this folder")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"recipe {args.recipe}, {available_cpus()} CPUs, workspaces under {root}")
    times: dict[int, float] = {}
    try:
        for workers in args.workers:
            location = root / f"workers-{workers}"
            shutil.rmtree(location, ignore_errors=True)
            seconds, summary = timed_run(args.recipe, location, workers)
            times[workers] = seconds
            describe(f"fresh, {workers} worker(s)", seconds, summary)
            stage_seconds(summary)
        seconds, summary = timed_run(args.recipe, location, args.workers[-1])
        describe("rerun (cache)", seconds, summary)
        assert summary.counts["cached"] == len(summary.nodes), "the rerun was not all cache"
        verdict = "meets" if seconds < CACHED_GOAL_S else "MISSES"
        print(f"cached rerun {verdict} the {CACHED_GOAL_S:.0f} s goal")
        first = args.workers[0]
        for workers in args.workers[1:]:
            ratio = times[first] / times[workers]
            print(f"speed-up {workers} vs {first} worker(s): {ratio:.2f}x")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
