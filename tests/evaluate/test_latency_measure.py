"""Measured latency: behaviour of the measurement, never its timings."""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import pytest
import torch
from torch import nn

from compresslens.errors import CompressLensError
from compresslens.evaluate.latency import (
    DEFAULT_BUDGET_SECONDS,
    FLOOR_MEASUREMENTS,
    batched_input,
    measure_latency,
)
from compresslens.evaluate.profile import compute_profile


class _ModeRecorder(nn.Module):
    """Records the grad and training modes every forward call ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.modes: set[tuple[bool, bool]] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.add((torch.is_inference_mode_enabled(), self.training))
        return self.linear(x)


class _SlowCounter(nn.Module):
    """Sleeps a fixed time in every forward call (at least that long) and counts the calls
    per batch size: the cost of a measurement in calls, not in wall time."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.calls: Counter[int] = Counter()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls[x.shape[0]] += 1
        if self.seconds:
            time.sleep(self.seconds)
        return x


def test_reports_every_batch_with_enough_measurements() -> None:
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
    report = measure_latency(
        model, torch.randn(1, 16), batch_sizes=(1, 4), min_measurements=7, min_block_seconds=1e-3
    )
    assert set(report.batches) == {1, 4}
    for size, entry in report.batches.items():
        assert entry.batch_size == size
        assert entry.measurements >= 7
        assert entry.runs_per_block >= 1
        assert math.isfinite(entry.median_ms) and entry.median_ms > 0
        assert math.isfinite(entry.iqr_ms) and entry.iqr_ms >= 0
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {
        "threads",
        "quantized_engine",
        "cpu_model",
        "cpu_capability",
        "torch_version",
        "budget_s",
        "target_measurements",
        "budget_limited",
        "measured_s",
        "batches",
    }
    assert data["budget_s"] == DEFAULT_BUDGET_SECONDS and data["target_measurements"] == 7
    assert data["threads"] == 1
    assert data["quantized_engine"] == torch.backends.quantized.engine
    assert data["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert data["torch_version"] == torch.__version__
    assert data["cpu_model"]
    assert set(data["batches"]) == {"1", "4"}
    assert set(data["batches"]["4"]) == {
        "batch_size",
        "median_ms",
        "iqr_ms",
        "measurements",
        "runs_per_block",
        "warmup_runs",
        "budget_limited",
    }


def test_a_fast_model_gets_every_measurement_within_the_default_budget() -> None:
    model = _SlowCounter(0.0)
    report = measure_latency(model, torch.zeros(1, 4), batch_sizes=(1, 64))
    for entry in report.batches.values():
        assert entry.measurements == 20 and entry.warmup_runs == 3
        assert not entry.budget_limited
    assert not report.budget_limited and report.budget_s == DEFAULT_BUDGET_SECONDS


def test_a_slow_model_makes_no_more_calls_than_the_budget_allows() -> None:
    sleep, budget = 0.02, 0.3
    model = _SlowCounter(sleep)
    report = measure_latency(
        model, torch.zeros(1, 4), batch_sizes=(1,), min_block_seconds=1e-3, budget_seconds=budget
    )
    entry = report.batches[1]
    # no block begins that the calls so far (each ≥ 20 ms) say would pass the budget
    assert model.calls[1] <= round(budget / sleep)
    assert model.calls[1] == entry.warmup_runs + 1 + entry.measurements  # + one calibration
    assert entry.warmup_runs == 1  # a second warm-up call would pass 10% of the budget
    assert FLOOR_MEASUREMENTS <= entry.measurements < 20 and entry.runs_per_block == 1
    assert entry.budget_limited and report.budget_limited
    assert report.to_dict()["budget_limited"] is True


def test_a_spent_budget_still_times_the_floor_of_blocks_for_every_batch_size() -> None:
    model = _SlowCounter(0.01)
    report = measure_latency(
        model, torch.zeros(1, 4), batch_sizes=(1, 2), min_block_seconds=1e-3, budget_seconds=1e-3
    )
    for size in (1, 2):
        entry = report.batches[size]
        assert entry.measurements == FLOOR_MEASUREMENTS and entry.budget_limited
        assert entry.warmup_runs == 1
        assert model.calls[size] == 1 + 1 + FLOOR_MEASUREMENTS  # warm-up, calibration, floor


def test_the_budget_is_shared_between_batch_sizes() -> None:
    sleep, budget = 0.01, 0.4
    model = _SlowCounter(sleep)
    report = measure_latency(
        model, torch.zeros(1, 4), batch_sizes=(1, 2), min_block_seconds=1e-3, budget_seconds=budget
    )
    assert model.calls[1] <= round(budget / 2 / sleep)  # the first size gets half at most
    assert sum(model.calls.values()) <= round(budget / sleep)
    assert all(entry.measurements >= FLOOR_MEASUREMENTS for entry in report.batches.values())


def test_without_a_budget_a_slow_model_gets_every_measurement() -> None:
    model = _SlowCounter(0.002)
    report = measure_latency(
        model,
        torch.zeros(1, 4),
        batch_sizes=(1,),
        min_measurements=5,
        min_block_seconds=1e-3,
        budget_seconds=None,
    )
    assert report.batches[1].measurements == 5 and not report.budget_limited
    assert model.calls[1] == 3 + 1 + 5  # every warm-up call, calibration, every block
    assert report.to_dict()["budget_s"] is None


def test_the_profile_records_the_latency_budget_it_measured_under() -> None:
    model = _SlowCounter(0.0)
    profile = compute_profile(model, torch.zeros(1, 4), latency_budget_s=2.0)
    assert profile["latency"]["budget_s"] == 2.0
    assert profile["latency"]["target_measurements"] == 20


def test_larger_batch_is_not_faster_for_a_compute_bound_model() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 512))
    report = measure_latency(model, torch.randn(1, 512), min_measurements=5, min_block_seconds=2e-3)
    assert report.batches[64].median_ms >= report.batches[1].median_ms


def test_runs_in_eval_and_inference_mode_and_restores_state() -> None:
    model = _ModeRecorder().train()
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        report = measure_latency(
            model,
            torch.randn(1, 8),
            batch_sizes=(2,),
            threads=1,
            min_measurements=3,
            warmup=1,
            min_block_seconds=1e-4,
        )
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert report.threads == 1
    assert model.modes == {(True, False)}
    assert model.training


def test_batches_are_repeats_of_the_example() -> None:
    example = torch.arange(6.0).reshape(1, 2, 3)
    batch = batched_input(example, 5)
    assert batch.shape == (5, 2, 3)
    assert torch.equal(batch[4], example[0])


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((2, 8), {}),
        ((1, 8), {"batch_sizes": (0,)}),
        ((1, 8), {"threads": 0}),
        ((1, 8), {"min_measurements": 0}),
        ((1, 8), {"batch_sizes": ()}),
        ((1, 8), {"budget_seconds": 0.0}),
    ],
)
def test_bad_arguments_are_refused(shape: tuple[int, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(CompressLensError):
        measure_latency(nn.Linear(8, 8), torch.randn(shape), **kwargs)  # type: ignore[arg-type]
