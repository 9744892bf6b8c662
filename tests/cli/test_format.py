"""The `ls` table as columns: which show by default, and which give way to a narrow terminal."""

from __future__ import annotations

from typing import Any

from compresslens.cli.format import Column, fit_columns, latency_lines, model_columns
from compresslens.records import ModelInfo, OperationInfo


def model(name: str, metrics: dict[str, dict[str, Any]], op: str | None = None) -> ModelInfo:
    operation = None
    if op is not None:
        operation = OperationInfo(
            name=op,
            params={},
            parents=[],
            seed=0,
            library_versions={},
            wall_time_s=0.0,
            status="ready",
            error=None,
        )
    return ModelInfo(
        id="0123456789abcdef",
        name=name,
        source="derived" if op else "added",
        status="ready",
        factory=None,
        factory_kwargs={},
        has_weights=True,
        operation=operation,
        efficiency={},
        metrics=metrics,
        tags=[],
        notes=[],
        created_at="",
    )


OWN = {
    "parameters": 2410,
    "nonzero_parameters": 1205,
    "dense_bytes": 9640,
    "compressed_bytes": 5000,
    "macs": 2400,
    "latency_ms_b1": 0.05,
    "latency_ms_b64": 0.5,
}


def test_default_columns_are_name_operation_accuracy_compressed_and_latency() -> None:
    models = [model("base", {"model": OWN, "test": {"accuracy": 0.9}})]
    columns = model_columns(models, wide=False)
    assert [c.header for c in columns] == [
        "name",
        "operation",
        "accuracy",
        "compressed",
        "latency b64",
    ]
    assert [c.cells for c in columns] == [
        ["base"],
        ["(added)"],
        ["90.00%"],
        ["4.9 KB"],
        ["0.50 ms"],
    ]


def test_wide_adds_id_counts_dense_bytes_macs_and_batch_1_latency() -> None:
    models = [model("p", {"model": OWN}, op="prune.magnitude")]
    headers = [c.header for c in model_columns(models, wide=True)]
    assert headers == [
        "id",
        "name",
        "operation",
        "params",
        "nonzero",
        "dense",
        "compressed",
        "MACs",
        "latency b1",
        "latency b64",
    ]


def test_each_dataset_gets_an_accuracy_column_named_after_it_when_there_are_several() -> None:
    models = [
        model("a", {"model": OWN, "test": {"accuracy": 0.5}}),
        model("b", {"model": OWN, "test": {"accuracy": 0.25}, "ood": {"accuracy": 0.125}}),
    ]
    columns = {c.header: c.cells for c in model_columns(models, wide=False)}
    assert columns["test"] == ["50.00%", "25.00%"]
    assert columns["ood"] == ["–", "12.50%"]


def test_a_column_is_as_wide_as_its_longest_cell_or_header_word() -> None:
    assert Column("latency b64", ["0.50 ms"], keep=1).width == 7
    assert Column("name", ["a-rather-long-name"], keep=1).width == 18


def test_narrow_terminals_drop_the_least_useful_columns_first_and_never_the_name() -> None:
    columns = [
        Column("name", ["n" * 40], keep=Column.ALWAYS),
        Column("operation", ["prune.magnitude"], keep=1),
        Column("accuracy", ["90.00%"], keep=4),
        Column("latency", ["0.50 ms"], keep=2),
    ]
    # widths 40 + 15 + 8 + 7, two spaces between columns
    assert [c.header for c in fit_columns(columns, 200)] == [
        "name",
        "operation",
        "accuracy",
        "latency",
    ]
    assert [c.header for c in fit_columns(columns, 70)] == ["name", "accuracy", "latency"]
    assert [c.header for c in fit_columns(columns, 55)] == ["name", "accuracy"]
    assert [c.header for c in fit_columns(columns, 10)] == ["name"]


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
