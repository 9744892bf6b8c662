"""Measured CPU latency: medians of timed blocks, with the machine they were taken on.

Latency is measured, never derived from bit-widths: masked pruning or a slow int4 kernel
shows up here as it really runs. Each figure carries the thread count, quantized engine,
CPU model and instruction set, since an int8 speed-up on one CPU can be a slow-down on
another. A time budget bounds the cost for slow models (a transformer at batch 64 takes
most of a second per call): they get fewer timed blocks, never fewer than a floor, and the
report says how many.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.data.inputs import Inputs, describe_example, with_batch_dimension
from compresslens.errors import CompressLensError
from compresslens.models.calling import call_model, eval_mode

CPUINFO = Path("/proc/cpuinfo")
_MAX_RUNS_PER_BLOCK = 1_000_000
DEFAULT_BUDGET_SECONDS = 5.0
FLOOR_MEASUREMENTS = 3  # a budget never cuts a batch size below this many timed blocks
WARMUP_SHARE = 0.1  # of a batch size's share of the budget, at most, for warm-up calls

BlockTimer = Callable[[int], float]


@dataclass(frozen=True)
class BatchLatency:
    """Latency of one batch size: median and IQR of per-call times over timed blocks."""

    batch_size: int
    median_ms: float
    iqr_ms: float
    measurements: int
    runs_per_block: int
    warmup_runs: int = 0
    budget_limited: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return asdict(self)


@dataclass
class LatencyReport:
    """Latencies per batch size and the conditions they were measured under."""

    threads: int
    quantized_engine: str
    cpu_model: str
    cpu_capability: str
    torch_version: str
    budget_s: float | None = None
    target_measurements: int = 0
    measured_s: float = 0.0
    batches: dict[int, BatchLatency] = field(default_factory=dict)

    @property
    def budget_limited(self) -> bool:
        """Whether the budget cut some batch size short of ``target_measurements``."""
        return any(entry.budget_limited for entry in self.batches.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy; ``batches`` is keyed by the batch size as a string."""
        return {
            "threads": self.threads,
            "quantized_engine": self.quantized_engine,
            "cpu_model": self.cpu_model,
            "cpu_capability": self.cpu_capability,
            "torch_version": self.torch_version,
            "budget_s": self.budget_s,
            "target_measurements": self.target_measurements,
            "budget_limited": self.budget_limited,
            "measured_s": self.measured_s,
            "batches": {str(size): entry.to_dict() for size, entry in self.batches.items()},
        }


def cpu_model_name() -> str:
    """The CPU's model name (from /proc/cpuinfo when there is one), for the record."""
    try:
        for line in CPUINFO.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def batched_input(example_input: Inputs, batch_size: int) -> Inputs:
    """Batch ``batch_size`` made by repeating a batch-1 example along dimension 0."""
    if len(example_input) != 1 or (
        isinstance(example_input, torch.Tensor) and example_input.dim() == 0
    ):
        raise CompressLensError(
            f"example_input must have batch dimension 1, got {describe_example(example_input)}"
        )
    if batch_size < 1:
        raise CompressLensError(f"batch sizes must be positive, got {batch_size}")
    return with_batch_dimension(example_input, batch_size)


def block_timer(model: nn.Module, batch: Any) -> BlockTimer:
    """A clock for one batch: seconds that ``number`` back-to-back forward calls take.

    A bare loop, not torch.utils.benchmark's Timer.timeit, which runs two untimed warm-up
    calls before every block: for a model slower than a block that triples the cost.
    """

    def seconds(number: int) -> float:
        started = time.perf_counter()
        for _ in range(number):
            call_model(model, batch)
        return time.perf_counter() - started

    return seconds


def calibrate_runs_per_block(timer: BlockTimer, min_block_seconds: float) -> tuple[int, float]:
    """Smallest call count (doubling or better) whose block lasts at least the minimum,
    and the seconds that block took."""
    number = 1
    while True:
        elapsed = max(timer(number), 1e-9)
        if elapsed >= min_block_seconds or number >= _MAX_RUNS_PER_BLOCK:
            return number, elapsed
        scale = min_block_seconds / elapsed
        number = min(_MAX_RUNS_PER_BLOCK, max(number * 2, math.ceil(number * scale * 1.1)))


def _warm_up(timer: BlockTimer, runs: int, allowance: float) -> int:
    """Up to ``runs`` single calls, stopping once the next would pass ``allowance`` seconds;
    at least one call when any is asked for (the first call pays for lazy set-up)."""
    done, spent, last = 0, 0.0, 0.0
    while done < runs and (done == 0 or spent + last <= allowance):
        last = timer(1)
        spent += last
        done += 1
    return done


def _measure_batch(
    timer: BlockTimer,
    batch_size: int,
    target: int,
    warmup: int,
    min_block_seconds: float,
    allowance: float,
) -> BatchLatency:
    """Warm-up, calibration, then up to ``target`` timed blocks within ``allowance`` seconds
    (``math.inf``: no budget); a block is begun only if the blocks so far say it fits,
    except the first FLOOR_MEASUREMENTS."""
    started = time.perf_counter()
    warmup_runs = _warm_up(timer, warmup, WARMUP_SHARE * allowance)
    number, block = calibrate_runs_per_block(timer, min_block_seconds)
    blocks: list[float] = []
    floor = min(target, FLOOR_MEASUREMENTS)
    while len(blocks) < target:
        expected = float(np.median(blocks)) if blocks else block
        if len(blocks) >= floor and time.perf_counter() - started + expected > allowance:
            break
        blocks.append(timer(number))
    per_call = np.array(blocks) / number
    q1, median, q3 = np.percentile(per_call, [25, 50, 75])
    return BatchLatency(
        batch_size=batch_size,
        median_ms=float(median) * 1e3,
        iqr_ms=float(q3 - q1) * 1e3,
        measurements=len(blocks),
        runs_per_block=number,
        warmup_runs=warmup_runs,
        budget_limited=len(blocks) < target,
    )


def _check_arguments(
    batch_sizes: Sequence[int],
    threads: int,
    min_measurements: int,
    min_block_seconds: float,
    budget_seconds: float | None,
) -> None:
    if not batch_sizes:
        raise CompressLensError("measure_latency needs at least one batch size")
    if threads < 1:
        raise CompressLensError(f"threads must be at least 1, got {threads}")
    if min_measurements < 1:
        raise CompressLensError(f"min_measurements must be at least 1, got {min_measurements}")
    if not min_block_seconds > 0:
        raise CompressLensError(f"min_block_seconds must be positive, got {min_block_seconds}")
    if budget_seconds is not None and not budget_seconds > 0:
        raise CompressLensError(f"budget_seconds must be positive or None, got {budget_seconds}")


def measure_latency(
    model: nn.Module,
    example_input: Inputs,
    batch_sizes: Sequence[int] = (1, 64),
    threads: int = 1,
    min_measurements: int = 20,
    warmup: int = 3,
    min_block_seconds: float = 0.005,
    budget_seconds: float | None = DEFAULT_BUDGET_SECONDS,
) -> LatencyReport:
    """Median milliseconds per forward call for each batch size, timed on this CPU.

    The model runs in eval mode under ``torch.inference_mode`` with ``threads`` threads;
    its training flags and torch's thread count are restored afterwards. Each of
    ``min_measurements`` measurements times a block of calls lasting ``min_block_seconds``
    or more, so timer overhead does not dominate small models. ``budget_seconds`` bounds
    the whole measurement (each batch size gets an equal share of what is left): a slow
    model gets fewer blocks, never fewer than FLOOR_MEASUREMENTS, and fewer warm-up calls;
    each batch records its count and whether the budget cut it (None: no budget).
    """
    _check_arguments(batch_sizes, threads, min_measurements, min_block_seconds, budget_seconds)
    inputs = {size: batched_input(example_input, size) for size in batch_sizes}
    report = LatencyReport(
        threads=threads,
        quantized_engine=str(torch.backends.quantized.engine),
        cpu_model=cpu_model_name(),
        cpu_capability=str(torch.backends.cpu.get_cpu_capability()),
        torch_version=str(torch.__version__),
        budget_s=budget_seconds,
        target_measurements=min_measurements,
    )
    budget = math.inf if budget_seconds is None else budget_seconds
    previous_threads = torch.get_num_threads()
    started = time.perf_counter()
    try:
        torch.set_num_threads(threads)
        with eval_mode(model), torch.inference_mode():
            for index, (size, batch) in enumerate(inputs.items()):
                left = len(inputs) - index  # what the earlier sizes left is shared evenly
                allowance = (budget - (time.perf_counter() - started)) / left
                report.batches[size] = _measure_batch(
                    block_timer(model, batch),
                    size,
                    min_measurements,
                    warmup,
                    min_block_seconds,
                    max(allowance, 0.0),
                )
    finally:
        torch.set_num_threads(previous_threads)
    report.measured_s = time.perf_counter() - started
    return report
