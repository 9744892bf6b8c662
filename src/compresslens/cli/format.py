"""Rows and documents the CLI prints; kept apart from Typer so they are easy to test."""

from __future__ import annotations

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


def show_document(ws: Any, key: str) -> dict[str, Any]:
    """`compresslens show --json`: the model record, its lineage and every evaluation."""
    model = ws.model(key)
    lineage = [{"id": a.id, "name": a.name} for a in ws.lineage(model.id)]
    return {
        "model": model.to_dict(),
        "lineage": lineage,
        "evaluations": [evaluation.to_dict() for evaluation in ws.evaluations(model.id)],
    }
