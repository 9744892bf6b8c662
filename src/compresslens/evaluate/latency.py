"""Measured CPU latency: medians of timed blocks, with the machine they were taken on.

Latency is measured, never derived from bit-widths: masked pruning or a slow int4 kernel
shows up here as it really runs. Each figure carries the thread count, quantized engine,
CPU model and instruction set, since an int8 speed-up on one CPU can be a slow-down on
another.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.benchmark import Timer

from compresslens.errors import CompressLensError
from compresslens.evaluate.flops import eval_mode

CPUINFO = Path("/proc/cpuinfo")
_MAX_RUNS_PER_BLOCK = 1_000_000


@dataclass(frozen=True)
class BatchLatency:
    """Latency of one batch size: median and IQR of per-call times over timed blocks."""

    batch_size: int
    median_ms: float
    iqr_ms: float
    measurements: int
    runs_per_block: int

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
    batches: dict[int, BatchLatency] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy; ``batches`` is keyed by the batch size as a string."""
        return {
            "threads": self.threads,
            "quantized_engine": self.quantized_engine,
            "cpu_model": self.cpu_model,
            "cpu_capability": self.cpu_capability,
            "torch_version": self.torch_version,
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


def batched_input(example_input: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Batch ``batch_size`` made by repeating a batch-1 example along dimension 0."""
    if example_input.dim() == 0 or example_input.shape[0] != 1:
        raise CompressLensError(
            f"example_input must have batch dimension 1, got shape {tuple(example_input.shape)}"
        )
    if batch_size < 1:
        raise CompressLensError(f"batch sizes must be positive, got {batch_size}")
    return example_input.repeat(batch_size, *([1] * (example_input.dim() - 1)))


def _block_seconds(timer: Timer, number: int) -> float:
    """Seconds one block of ``number`` calls takes."""
    return timer.timeit(number).median * number


def calibrate_runs_per_block(timer: Timer, min_block_seconds: float) -> int:
    """Smallest call count (doubling or better) whose block lasts at least the minimum."""
    number = 1
    while True:
        elapsed = _block_seconds(timer, number)
        if elapsed >= min_block_seconds or number >= _MAX_RUNS_PER_BLOCK:
            return number
        scale = min_block_seconds / max(elapsed, 1e-9)
        number = min(_MAX_RUNS_PER_BLOCK, max(number * 2, math.ceil(number * scale * 1.1)))


def _measure_batch(
    timer: Timer, batch_size: int, min_measurements: int, warmup: int, min_block_seconds: float
) -> BatchLatency:
    if warmup > 0:
        timer.timeit(warmup)
    number = calibrate_runs_per_block(timer, min_block_seconds)
    per_call = np.array([timer.timeit(number).median for _ in range(min_measurements)])
    q1, median, q3 = np.percentile(per_call, [25, 50, 75])
    return BatchLatency(
        batch_size=batch_size,
        median_ms=float(median) * 1e3,
        iqr_ms=float(q3 - q1) * 1e3,
        measurements=len(per_call),
        runs_per_block=number,
    )


def _check_arguments(
    batch_sizes: Sequence[int], threads: int, min_measurements: int, min_block_seconds: float
) -> None:
    if not batch_sizes:
        raise CompressLensError("measure_latency needs at least one batch size")
    if threads < 1:
        raise CompressLensError(f"threads must be at least 1, got {threads}")
    if min_measurements < 1:
        raise CompressLensError(f"min_measurements must be at least 1, got {min_measurements}")
    if not min_block_seconds > 0:
        raise CompressLensError(f"min_block_seconds must be positive, got {min_block_seconds}")


def measure_latency(
    model: nn.Module,
    example_input: torch.Tensor,
    batch_sizes: Sequence[int] = (1, 64),
    threads: int = 1,
    min_measurements: int = 20,
    warmup: int = 3,
    min_block_seconds: float = 0.005,
) -> LatencyReport:
    """Median milliseconds per forward call for each batch size, timed on this CPU.

    The model runs in eval mode under ``torch.inference_mode`` with ``threads`` threads;
    its training flags and torch's thread count are restored afterwards. Each of at least
    ``min_measurements`` measurements times a block of calls lasting ``min_block_seconds``
    or more, so timer overhead does not dominate small models.
    """
    _check_arguments(batch_sizes, threads, min_measurements, min_block_seconds)
    inputs = {size: batched_input(example_input, size) for size in batch_sizes}
    report = LatencyReport(
        threads=threads,
        quantized_engine=str(torch.backends.quantized.engine),
        cpu_model=cpu_model_name(),
        cpu_capability=str(torch.backends.cpu.get_cpu_capability()),
        torch_version=str(torch.__version__),
    )
    previous_threads = torch.get_num_threads()
    try:
        with eval_mode(model), torch.inference_mode():
            for size, batch in inputs.items():
                timer = Timer(
                    stmt="model(x)", globals={"model": model, "x": batch}, num_threads=threads
                )
                report.batches[size] = _measure_batch(
                    timer, size, min_measurements, warmup, min_block_seconds
                )
    finally:
        torch.set_num_threads(previous_threads)
    return report
