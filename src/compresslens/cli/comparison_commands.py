"""One pair's views that the UI shows and `compare` summarises: transitions, calibration, the
per-instance table and one module's weight histogram (all with --json).

Each command is one `Workspace` call, the same one the server's route answers with
(`calibration` here is the pair's `Comparison.calibration`; `calibrations` the view's).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from compresslens.cli.analysis_commands import DatasetOption, emit
from compresslens.cli.app import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    fail,
    open_workspace,
    stdout,
)
from compresslens.errors import CompressLensError

BaseArgument = Annotated[str, typer.Argument(help="Base model id or name.")]
ModelArgument = Annotated[str, typer.Argument(help="Compressed model id or name.")]


def names(comparison: Any) -> dict[str, Any]:
    """Who was compared on what, at the head of a pair's document."""
    return {
        "base": {"id": comparison.base.id, "name": comparison.base.name},
        "model": {"id": comparison.model.id, "name": comparison.model.name},
        "dataset": comparison.dataset.name,
    }


@app.command()
def transitions(
    base: BaseArgument,
    model: ModelArgument,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Prediction transitions [C, C]: row = the base's predicted class, column = the model's."""
    try:
        document = open_workspace(workspace).transitions(base, model, dataset)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_transitions)


def render_transitions(document: dict[str, Any]) -> None:
    out = stdout()
    classes = document["class_names"]
    out.print("rows: base prediction; columns: model prediction")
    out.print(escape(" " * 14 + " ".join(f"{name[:7]:>7}" for name in classes)))
    for name, row in zip(classes, document["matrix"], strict=True):
        out.print(escape(f"{name[:14]:<14}" + " ".join(f"{int(v):>7}" for v in row)))


@app.command()
def calibration(
    base: BaseArgument,
    model: ModelArgument,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """ECE and 15-bin reliability curves of both models (compression shifts confidence)."""
    try:
        comparison = open_workspace(workspace).compare(base, model, dataset, n_boot=0)
        document = {**names(comparison), **comparison.calibration()}
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_calibration)


def render_calibration(document: dict[str, Any]) -> None:
    stdout().print(
        escape(
            f"ECE {document['base']['name']} {document['base_ece']:.4f} → "
            f"{document['model']['name']} {document['ece']:.4f} on {document['dataset']}"
        )
    )


@app.command()
def instances(
    base: BaseArgument,
    model: ModelArgument,
    dataset: DatasetOption = None,
    changed: Annotated[bool, typer.Option(help="Only the instances whose flip changed.")] = False,
    flip: Annotated[
        str,
        typer.Option(help="any, changed, unchanged, or a flip kind (e.g. correct_to_incorrect)."),
    ] = "any",
    label: Annotated[int | None, typer.Option(min=0, help="Only this true class.")] = None,
    sort: Annotated[str, typer.Option(help="instance, kl, js, confidence, … column.")] = "instance",
    descending: Annotated[bool, typer.Option("--descending")] = False,
    by_magnitude: Annotated[bool, typer.Option(help="Sort by |value|.")] = True,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N rows (default all).")] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """One row per instance: both predictions, the flip kind, confidence (and divergence when
    both evaluations kept logits), filtered and sorted as the Behaviours view's table;
    `compare --export` writes the whole table to a file."""
    try:
        table = open_workspace(workspace).instances(
            base,
            model,
            dataset,
            flip="changed" if changed else flip,
            label=label,
            sort=sort,
            descending=descending,
            by_magnitude=by_magnitude,
        )
    except CompressLensError as exc:
        fail(exc)
    about = table.context
    document = {
        "base": {"id": about["base_id"], "name": about["base"]},
        "model": {"id": about["model_id"], "name": about["model"]},
        "dataset": about["dataset"],
        "total": table.total,
        "columns": list(table.columns),
        "rows": table.rows(offset, limit),
    }
    emit(document, as_json, render_instances)


def render_instances(document: dict[str, Any]) -> None:
    out = stdout()
    shown = ("instance", "label", "base_prediction", "prediction", "flip")
    out.print("  ".join(f"{c:>15}" for c in shown))
    for row in document["rows"]:
        out.print(escape("  ".join(f"{row[c]!s:>15}" for c in shown)))


@app.command("layer-histogram")
def layer_histogram(
    base: BaseArgument,
    model: ModelArgument,
    module: Annotated[str, typer.Argument(help="Module name, e.g. body.0 (see `layers`).")],
    bins: Annotated[int, typer.Option(min=2, max=200)] = 50,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Both models' weights of one module on shared bins, to overlay."""
    try:
        document = open_workspace(workspace).layer_histogram(
            base, model, module, dataset, bins=bins
        )
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_layer_histogram)


def render_layer_histogram(document: dict[str, Any]) -> None:
    out = stdout()
    for side, counts in document["counts"].items():
        zeros, numel = document["zeros"][side], document["numel"][side]
        out.print(escape(f"{side}: {numel} weights, {zeros} zero; counts per bin {counts}"))
