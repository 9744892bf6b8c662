"""Writer throughput: models written per second by 4 concurrent processes, SQLite vs PostgreSQL.

Each writer process opens the store, waits at a barrier with the others, then writes its
share of models the way `Workspace.compress` stores one (a unit of work: weights artifact,
model row, edge, a few metrics), each model with its own weights. The figure is all models
over the wall time from the release to the last commit, the median over --repeats fresh
workspaces. PostgreSQL is a private throwaway server (tests/postgres_server.py: unix socket,
fsync off, as in the tests), so its figure is an upper bound for a server that syncs.

Run: `python benchmarks/bench_writers.py [--writers 4] [--models 40] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from timing import load_line

TESTS = Path(__file__).resolve().parent.parent / "tests"
WEIGHTS_BYTES = 64 * 1024  # a small MLP's safetensors file


def write_share(
    location: str, artifacts: str, writer: int, count: int, barrier: Any, results: Any
) -> None:
    """In a child: write `count` models after the barrier; report (start, end) wall clocks."""
    from compresslens.store.repository import WorkspaceStore
    from compresslens.store.snapshots import NewModel

    store = WorkspaceStore(location, artifacts)
    barrier.wait()
    started = time.time()
    for index in range(count):
        model_id = f"w{writer}-m{index}"
        weights = os.urandom(WEIGHTS_BYTES)
        with store.write() as unit:
            unit.add_model(NewModel(id=model_id, name=model_id, source="derived"), weights)
            unit.add_edge(model_id, "prune.magnitude", parents=[], params={"amount": 0.5})
            unit.set_metrics(model_id, None, {"parameters": 2410.0, "sparsity": 0.5})
    results.put((started, time.time()))
    store.db.close()


def throughput(location: str, artifacts: str, writers: int, per_writer: int) -> float:
    """Models per second of `writers` processes writing `per_writer` models each."""
    from compresslens.store.repository import WorkspaceStore

    WorkspaceStore(location, artifacts).db.close()  # migrated before the clock starts
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(
            target=write_share, args=(location, artifacts, w, per_writer, barrier, results)
        )
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    spans = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return writers * per_writer / wall


def median_throughput(make_location: Any, writers: int, per_writer: int, repeats: int) -> float:
    rates = []
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory(prefix="cl-bench-writers-") as folder:
            location, artifacts = make_location(Path(folder), repeat)
            rates.append(throughput(location, artifacts, writers, per_writer))
    print(f"    runs: {', '.join(f'{r:.1f}' for r in rates)} models/s")
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--models", type=int, default=40, help="models per writer")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(load_line())
    print(f"{args.writers} writers × {args.models} models, {WEIGHTS_BYTES // 1024} KiB weights")

    def sqlite(folder: Path, _repeat: int) -> tuple[str, str]:
        return str(folder / "ws"), str(folder / "ws" / "artifacts")

    print("SQLite (WAL, busy timeout 30 s):")
    sqlite_rate = median_throughput(sqlite, args.writers, args.models, args.repeats)
    print(f"  SQLite      {sqlite_rate:8.1f} models/s")
    sys.path.insert(0, str(TESTS))
    from postgres_server import missing_reason, postgres_server

    reason = missing_reason()
    if reason is not None:
        print(f"PostgreSQL skipped: {reason}")
        return
    with postgres_server() as server:

        def postgresql(folder: Path, repeat: int) -> tuple[str, str]:
            return server.createdb(f"bench_{repeat}"), str(folder / "artifacts")

        print("PostgreSQL (private server, fsync off):")
        pg_rate = median_throughput(postgresql, args.writers, args.models, args.repeats)
    print(f"  PostgreSQL  {pg_rate:8.1f} models/s")
    print(f"PostgreSQL / SQLite: {pg_rate / sqlite_rate:.2f}×")
    print(load_line())


if __name__ == "__main__":
    main()
