"""What the CLI prints, from hand-made records."""

from __future__ import annotations

from compresslens.cli.format import latency_lines


def _batch(size: int, median: float, measurements: int, runs: int, **extra: object) -> dict:
    return {
        "batch_size": size,
        "median_ms": median,
        "iqr_ms": median / 10,
        "measurements": measurements,
        "runs_per_block": runs,
        **extra,
    }


def test_latency_lines_name_the_measurement_and_a_budget_that_cut_it_short() -> None:
    latency = {
        "threads": 1,
        "quantized_engine": "x86",
        "budget_s": 5.0,
        "target_measurements": 20,
        "budget_limited": True,
        "measured_s": 5.4,
        "batches": {
            "1": _batch(1, 12.5, 20, 1, warmup_runs=3, budget_limited=False),
            "64": _batch(64, 812.0, 3, 1, warmup_runs=1, budget_limited=True),
        },
    }
    assert latency_lines(latency) == [
        "latency on 1 thread (x86 engine), measured in 5.4 s under a 5 s budget:",
        "  batch 1: 12.5 ms median (IQR 1.25 ms) over 20 timed blocks of 1 call, 3 warm-up calls",
        "  batch 64: 812 ms median (IQR 81.2 ms) over 3 timed blocks of 1 call, 1 warm-up call"
        " — cut short by the budget (3 of 20 blocks)",
    ]


def test_latency_lines_read_a_record_made_before_the_budget() -> None:
    latency = {
        "threads": 2,
        "quantized_engine": "fbgemm",
        "batches": {"1": _batch(1, 0.05, 20, 96)},
    }
    assert latency_lines(latency) == [
        "latency on 2 threads (fbgemm engine):",
        "  batch 1: 0.05 ms median (IQR 0.005 ms) over 20 timed blocks of 96 calls",
    ]


def test_no_latency_record_gives_no_lines() -> None:
    assert latency_lines({}) == []
