"""Rows and documents the CLI prints; kept apart from Typer so they are easy to test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len

if TYPE_CHECKING:
    from compresslens.records import ModelInfo


def human_bytes(value: float | None) -> str:
    if value is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def human_count(value: float | None) -> str:
    if value is None:
        return "–"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{unit}"
    return f"{value:.0f}"


@dataclass(frozen=True)
class Column:
    """One column of `ls`: a header, a cell per model, and how long it stays when space is short."""

    ALWAYS: ClassVar[int] = 1_000_000

    header: str
    cells: list[str]
    keep: int  # the lowest gives way first when the terminal is narrow; ALWAYS never does
    right: bool = True

    @property
    def width(self) -> int:
        """The widest cell, or the longest header word: headers wrap, cells never do."""
        return max(cell_len(text) for text in [*self.header.split(), *self.cells, ""])


COLUMN_GAP = 2  # spaces between columns in the table `ls` prints


def table_width(columns: list[Column]) -> int:
    return sum(c.width for c in columns) + COLUMN_GAP * max(len(columns) - 1, 0)


def fit_columns(columns: list[Column], width: int) -> list[Column]:
    """Drop the columns that give way first (then the rightmost) until the table fits."""
    shown = list(columns)
    while table_width(shown) > width:
        droppable = [c for c in shown if c.keep != Column.ALWAYS]
        if not droppable:
            break
        lowest = min(c.keep for c in droppable)
        shown.remove([c for c in droppable if c.keep == lowest][-1])
    return shown


def accuracy_datasets(models: list[ModelInfo]) -> list[str]:
    """The datasets any model was evaluated on, in the order they first appear."""
    names = [
        name
        for model in models
        for name, values in model.metrics.items()
        if name != "model" and "accuracy" in values
    ]
    return list(dict.fromkeys(names))


def model_columns(models: list[ModelInfo], wide: bool) -> list[Column]:
    """`ls`'s columns: name, operation, accuracy per dataset, compressed size and latency by
    default (what a reader compares first); with `wide`, every figure `ls` knows."""

    def own(key: str) -> list[Any]:
        return [model.metrics.get("model", {}).get(key) for model in models]

    datasets = accuracy_datasets(models)
    accuracy = [
        Column(
            "accuracy" if len(datasets) == 1 else dataset,
            [_percent(model.metrics.get(dataset, {}).get("accuracy")) for model in models],
            keep=50 - index,
        )
        for index, dataset in enumerate(datasets)
    ]
    columns = [
        Column("id", [model.id[:8] for model in models], keep=0, right=False),
        Column("name", [model.name for model in models], keep=Column.ALWAYS, right=False),
        Column("operation", [_operation(model) for model in models], keep=10, right=False),
        *accuracy,
        Column("params", list(map(human_count, own("parameters"))), keep=0),
        Column("nonzero", list(map(human_count, own("nonzero_parameters"))), keep=0),
        Column("dense", list(map(human_bytes, own("dense_bytes"))), keep=0),
        Column("compressed", list(map(human_bytes, own("compressed_bytes"))), keep=30),
        Column("MACs", list(map(human_count, own("macs"))), keep=0),
        Column("latency b1", list(map(_ms, own("latency_ms_b1"))), keep=0),
        Column("latency b64", list(map(_ms, own("latency_ms_b64"))), keep=20),
    ]
    return columns if wide else [c for c in columns if c.keep > 0]


def _operation(model: ModelInfo) -> str:
    return model.operation.name if model.operation else f"({model.source})"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ms"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def latency_lines(latency: Mapping[str, Any]) -> list[str]:
    """How a model's latency was measured, for `show`: per batch size the median, how many
    timed blocks of how many calls, and whether the time budget cut it short."""
    if not latency.get("batches"):
        return []
    head = (
        f"latency on {_plural(latency['threads'], 'thread')} ({latency['quantized_engine']} engine)"
    )
    if latency.get("budget_s") is not None:
        head += (
            f", measured in {latency['measured_s']:.1f} s under a {latency['budget_s']:g} s budget"
        )
    lines = [head + ":"]
    for size, entry in latency["batches"].items():
        line = (
            f"  batch {size}: {entry['median_ms']:.3g} ms median (IQR {entry['iqr_ms']:.3g} ms) "
            f"over {entry['measurements']} timed blocks of "
            f"{_plural(entry['runs_per_block'], 'call')}"
        )
        if "warmup_runs" in entry:
            line += f", {_plural(entry['warmup_runs'], 'warm-up call')}"
        if entry.get("budget_limited"):
            line += (
                f" — cut short by the budget ({entry['measurements']} of "
                f"{latency['target_measurements']} blocks)"
            )
        lines.append(line)
    return lines


def show_document(ws: Any, key: str) -> dict[str, Any]:
    """`compresslens show --json`: the model record, its lineage and every evaluation."""
    model = ws.model(key)
    lineage = [{"id": a.id, "name": a.name} for a in ws.lineage(model.id)]
    return {
        "model": model.to_dict(),
        "lineage": lineage,
        "evaluations": [evaluation.to_dict() for evaluation in ws.evaluations(model.id)],
    }
