"""Rows and documents the CLI prints; kept apart from Typer so they are easy to test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def _accuracy_cells(model: ModelInfo) -> str:
    cells = [
        f"{name}: {values['accuracy']:.2%}"
        for name, values in model.metrics.items()
        if name != "model" and "accuracy" in values
    ]
    return "\n".join(cells) or "–"


def model_rows(models: list[ModelInfo]) -> list[list[str]]:
    """A header row, then one row per model: accuracy, size, compute and latency."""
    header = [
        "id",
        "name",
        "operation",
        "accuracy",
        "params",
        "nonzero",
        "dense",
        "compressed",
        "MACs",
        "latency b1",
        "latency b64",
    ]
    rows = [header]
    for model in models:
        own = model.metrics.get("model", {})
        rows.append(
            [
                model.id[:8],
                model.name,
                model.operation.name if model.operation else f"({model.source})",
                _accuracy_cells(model),
                human_count(own.get("parameters")),
                human_count(own.get("nonzero_parameters")),
                human_bytes(own.get("dense_bytes")),
                human_bytes(own.get("compressed_bytes")),
                human_count(own.get("macs")),
                _ms(own.get("latency_ms_b1")),
                _ms(own.get("latency_ms_b64")),
            ]
        )
    return rows


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
