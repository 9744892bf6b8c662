"""Timing helpers shared by the benchmarks: medians (not best-of), wall beside CPU time, and
ratios measured alternating in one process (drift and load then hit both sides alike)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Median wall and CPU seconds over the repeats, and every wall time (seconds)."""

    wall: float
    cpu: float
    walls: list[float]

    def spread(self) -> str:
        """The fastest and slowest wall time, for a reader to judge the noise."""
        return f"range {min(self.walls):.3f}–{max(self.walls):.3f} s over {len(self.walls)}"


def once(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_timed(work: Callable[[], Any], repeats: int, warm_up: bool = True) -> tuple[Timing, Any]:
    """Median wall and CPU seconds over `repeats` calls (after one warm-up), and the last result."""
    result = work() if warm_up else None
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu, result = once(work)
        walls.append(wall)
        cpus.append(cpu)
    return Timing(statistics.median(walls), statistics.median(cpus), walls), result


@dataclass(frozen=True)
class Pair:
    """Two pieces of work timed alternating: their medians and the median per-pair ratio."""

    first: Timing
    second: Timing
    ratio: float  # median over pairs of second / first
    results: tuple[Any, Any]


def alternating(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int, warm_up: bool = True
) -> Pair:
    """Time first and second in turn, `repeats` pairs; the ratio is the median of
    second/first per pair, so a burst of load inflates one pair, not one side."""
    if warm_up:
        first(), second()
    runs: list[list[tuple[float, float]]] = [[], []]
    results: list[Any] = [None, None]
    for index in range(repeats):
        order = (0, 1) if index % 2 == 0 else (1, 0)  # neither side always goes first
        for side in order:
            wall, cpu, results[side] = once((first, second)[side])
            runs[side].append((wall, cpu))
    timings = [
        Timing(
            statistics.median(w for w, _ in side),
            statistics.median(c for _, c in side),
            [w for w, _ in side],
        )
        for side in runs
    ]
    ratios = [b[0] / a[0] for a, b in zip(runs[0], runs[1], strict=True)]
    return Pair(timings[0], timings[1], statistics.median(ratios), (results[0], results[1]))


def load_line() -> str:
    """The 1-minute load average beside the core count: other work on the cores slows us."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
