"""Measured latency: behaviour of the measurement, never its timings."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from compresslens.errors import CompressLensError
from compresslens.evaluate.latency import batched_input, measure_latency


class _ModeRecorder(nn.Module):
    """Records the grad and training modes every forward call ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.modes: set[tuple[bool, bool]] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.add((torch.is_inference_mode_enabled(), self.training))
        return self.linear(x)


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
        "batches",
    }
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
    }


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
    ],
)
def test_bad_arguments_are_refused(shape: tuple[int, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(CompressLensError):
        measure_latency(nn.Linear(8, 8), torch.randn(shape), **kwargs)  # type: ignore[arg-type]
