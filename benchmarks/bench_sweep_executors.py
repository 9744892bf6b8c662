"""Sweep throughput (nodes per second) of the local executor and of Ray, on one recipe.

Each run starts from a copy of one workspace that already holds the datasets, so only the
nodes are timed (train, compress, evaluate, store). The Ray instance is started once, before
the timing (its start-up is printed apart); both sides run `--workers` nodes at once, with
the recipe's one torch thread per node, and are timed alternating (timing.alternating).
What differs besides the engine: the local executor spawns its pool for every run (each
worker imports torch), while Ray's workers stay warm between runs of one instance; one
`compresslens run --executor ray` pays the instance's start-up instead. The in-process run
(one worker, no pool) shows the nodes' own cost.

Run: `python benchmarks/bench_sweep_executors.py [--workers 2] [--repeats 2]`
(Fashion-MNIST from Debian's dataset-fashion-mnist: `make data`).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from itertools import count
from pathlib import Path

from compresslens.run import RunSummary, build_plan, parse_recipe, run_recipe
from compresslens.run.datasets import prepare_datasets
from compresslens.run.pool import available_cpus
from compresslens.workspace import Workspace
from timing import alternating, load_line, median_timed

RECIPE = """\
name: executors
datasets:
  train: {source: fashion-mnist, split: train, limit: 6000}
  test: {source: fashion-mnist, split: test}
base:
  factory: compresslens.models.zoo:mlp
  kwargs: {in_features: 784, hidden: 128}
  train: {dataset: train, epochs: 1, batch_size: 128}
  seeds: 4
evaluate: {datasets: [test], logits: true, latency: false}
stages:
  - {name: pruned, op: prune.magnitude, grid: {amount: [0.5, 0.9]}}
  - name: finetuned
    parent: pruned
    op: train.finetune
    params: {dataset: train, limit: 3000}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="fresh runs timed each way")
    args = parser.parse_args()
    import ray

    recipe = parse_recipe(RECIPE, "executors.yaml")
    nodes = len(build_plan(recipe))
    root = Path(tempfile.mkdtemp(prefix="bench-executors-"))
    template = root / "template"
    with_data = Workspace(template)
    prepare_datasets(with_data, recipe)
    with_data.close()
    print(f"{nodes} nodes, {args.workers} workers, {available_cpus()} CPUs; {load_line()}")
    runs = count()

    def fresh_run(executor: str, workers: int = args.workers) -> RunSummary:
        location = root / f"run-{next(runs)}"
        shutil.copytree(template, location)
        ws = Workspace(location)
        try:
            summary = run_recipe(recipe, ws, workers=workers, executor=executor)
        finally:
            ws.close()
        assert summary.ok and summary.counts["done"] == nodes, summary.counts
        shutil.rmtree(location)
        return summary

    started = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    print(f"Ray start-up (once, not timed below): {time.perf_counter() - started:.1f} s")
    try:
        pair = alternating(lambda: fresh_run("local"), lambda: fresh_run("ray"), args.repeats)
        alone, _ = median_timed(lambda: fresh_run("local", 1), args.repeats, warm_up=False)
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    sides = (("local", pair.first), ("ray", pair.second), ("local, 1 worker in-process", alone))
    for label, timing in sides:
        rate = nodes / timing.wall
        print(f"{label:<27} {rate:6.2f} nodes/s  ({timing.wall:.1f} s, {timing.spread()})")
    print(f"throughput ray / local: {1 / pair.ratio:.2f}x (median per pair of wall times)")
    print(load_line())


if __name__ == "__main__":
    main()
