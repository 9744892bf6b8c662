"""Trade-offs that include behaviour: the Pareto frontier over any metrics (`pareto`), a
chosen model's recipe (`export-recipe`), and filling in the flip metrics vs the root
(`behaviour-metrics`). Each is one `Workspace` call."""

from __future__ import annotations

from pathlib import Path
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
from compresslens.cli.format import human_bytes
from compresslens.errors import CompressLensError

ObjectiveOption = Annotated[
    list[str],
    typer.Option(
        "--objective",
        metavar="METRIC[:min|max]",
        help=(
            "A metric to trade off (repeat, at least two): a name or an alias such as bytes "
            "(compressed_bytes), nfr (negative_flip_rate), latency (latency_ms_b1), kld "
            "(kld_mean), worst (worst_class_change); the direction defaults to the metric's."
        ),
    ),
]


@app.command()
def pareto(
    objective: ObjectiveOption,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """The models no other beats on every objective at once (the Pareto frontier), best first
    on the first objective; models missing a metric are listed as excluded."""
    try:
        document = open_workspace(workspace).pareto(objective, dataset)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_pareto)


def render_pareto(document: dict[str, Any]) -> None:
    from rich.table import Table

    out = stdout()
    objectives = document["objectives"]
    where = f" on {document['dataset']}" if document["dataset"] else ""
    out.print(escape(f"Pareto frontier{where}: {len(document['frontier'])} models"))
    out.print(
        escape(
            "  ".join(f"{o['objective']} = {o['metric']} ({o['direction']})" for o in objectives)
        )
    )
    table = Table(box=None, pad_edge=False)
    table.add_column("model", overflow="fold")
    for o in objectives:
        arrow = "↑" if o["direction"] == "max" else "↓"
        table.add_column(escape(f"{o['objective']} {arrow}"), justify="right")
    for row in document["frontier"]:
        cells = [_cell(o["metric"], row["values"][o["metric"]]) for o in objectives]
        table.add_row(escape(row["name"]), *cells)
    out.print(table)
    out.print(escape(f"dominated: {len(document['dominated'])} models"))
    if document["excluded"]:
        missing = sorted({m for row in document["excluded"] for m in row["missing"]})
        out.print(escape(f"excluded (no {', '.join(missing)}): {len(document['excluded'])} models"))


def _cell(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric.endswith("bytes"):
        return human_bytes(value)
    return f"{value:.4g}"


@app.command("export-recipe")
def export_recipe(
    model: Annotated[str, typer.Argument(help="Model id or name whose chain to export.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the YAML here (default: print)."
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="MODULE",
            help="Leave this module as the root's (repeatable; e.g. attribution's greedy set): "
            "it joins every exclude list of the chain.",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """The recipe YAML that rebuilds MODEL from its root (`compresslens run FILE` in a
    workspace that holds the root makes the same model, the same id); with --keep, the same
    chain with those modules left uncompressed."""
    try:
        text = open_workspace(workspace).export_recipe(model, keep=keep or ())
    except CompressLensError as exc:
        fail(exc)
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(OSError(f"cannot write {output}: {exc.strerror or exc}"))
    stdout().print(escape(f"wrote {output}"))


@app.command("behaviour-metrics")
def behaviour_metrics(
    dataset: DatasetOption = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute those present too.")] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Store negative_flip_rate, positive_flip_rate, worst_class_change and kld_mean vs the
    lineage root for models evaluated before they existed (`evaluate` stores them itself)."""
    try:
        written = open_workspace(workspace).behaviour_metrics(dataset, force=force)
    except CompressLensError as exc:
        fail(exc)
    emit({"written": written}, as_json, render_written)


def render_written(document: dict[str, Any]) -> None:
    stdout().print(f"behaviour metrics stored for {len(document['written'])} evaluations")
