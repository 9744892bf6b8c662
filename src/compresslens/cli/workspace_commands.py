"""Commands on the workspace as a whole: create, list, show, evaluate, run a sweep, demo, serve.

Listing commands read through the torch-free catalog; the others import the facade (and so
torch) inside their bodies.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from compresslens.cli.app import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    console,
    fail,
    open_catalog,
    open_workspace,
    progress_bars,
    stdout,
)
from compresslens.cli.format import (
    accuracy_datasets,
    fit_columns,
    latency_lines,
    model_columns,
    show_document,
    table_width,
)
from compresslens.errors import CompressLensError


@app.command()
def init(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Create an empty workspace (or open an existing one) and print where it is."""
    try:
        ws = open_catalog(workspace, must_exist=False)
    except CompressLensError as exc:
        fail(exc)
    stdout().print(escape(f"workspace ready at {ws.location} ({len(ws.models())} models)"))


@app.command("ls")
def list_models(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Every column (id, counts, dense bytes, MACs, batch-1 latency)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List models with accuracy, size and latency, as many columns as the terminal fits."""
    try:
        ws = open_catalog(workspace)
        models = ws.models()
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"models": [m.to_dict() for m in models]}, indent=2))
        return
    print_model_table(ws.location, models, wide)


def print_model_table(location: str, models: list[Any], wide: bool) -> None:
    """Names whole on one line; narrow terminals lose the least useful columns, said below."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = stdout()
    columns = model_columns(models, wide)
    shown = columns if wide else fit_columns(columns, out.width)
    if wide and table_width(columns) > out.width:
        out = Console(width=table_width(columns))  # wider than the terminal: asked for
    datasets = accuracy_datasets(models)
    on = f"; accuracy on {datasets[0]}" if len(datasets) == 1 else ""
    out.print(escape(f"{len(models)} models in {location}{on}"))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for column in shown:
        justify = "right" if column.right else "left"
        table.add_column(column.header, width=column.width, justify=justify, overflow="fold")
    for index in range(len(models)):
        # Text: names like "a[amount=0.5]" are not markup
        table.add_row(*(Text(column.cells[index]) for column in shown))
    out.print(table)
    hidden = [column.header for column in columns if column not in shown]
    if hidden:
        out.print(
            f"hidden to fit {out.width} columns: {', '.join(hidden)} (--wide shows every column)"
        )


@app.command()
def datasets(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False) -> None:
    """List registered datasets."""
    try:
        items = open_catalog(workspace).datasets()
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"datasets": [d.to_dict() for d in items]}, indent=2))
        return
    for d in items:
        stdout().print(
            escape(
                f"{d.id[:8]}  {d.name}  {d.modality}  {d.num_instances} instances  "
                f"{d.num_classes} classes  input {d.input_shape}  attributes {d.attribute_names}"
            )
        )


@app.command()
def show(
    model: Annotated[str, typer.Argument(help="Model id, id prefix or name.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Everything about one model: provenance, efficiency, metrics per dataset."""
    try:
        document = show_document(open_catalog(workspace), model)
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(document, indent=2))
        return
    from rich.pretty import Pretty

    out = stdout()
    out.print(Pretty(document, max_length=12))
    for line in latency_lines(document["model"]["efficiency"].get("latency", {})):
        out.print(escape(line))


@app.command()
def evaluate(
    model: Annotated[str, typer.Argument(help="Model id, id prefix or name.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset id or name.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    logits: Annotated[bool, typer.Option(help="Keep the full logits (float16).")] = False,
    features: Annotated[bool, typer.Option(help="Keep the penultimate features.")] = False,
    latency: Annotated[bool, typer.Option(help="Measure CPU latency if not yet measured.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Run a model over a dataset and store per-instance outputs and metrics."""
    try:
        ws = open_workspace(workspace)
        with progress_bars() as update:
            result = ws.evaluate(
                model,
                dataset,
                batch_size=batch_size,
                logits=logits,
                features=features,
                latency=latency,
                progress=lambda done, total: update("evaluate", done, total),
            )
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    m = result.metrics
    perplexity = f"perplexity {m['perplexity']:.3f}  " if "perplexity" in m else ""
    stdout().print(
        escape(
            f"{result.dataset_name}: {perplexity}accuracy {m['accuracy']:.4f}  "
            f"top-5 {m['top5_accuracy']:.4f}  loss {m['loss']:.4f}  ECE {m['ece']:.4f}  "
            f"({m['num_instances']} instances, {result.wall_time_s:.2f} s)"
        )
    )


@app.command("run")
def run_sweep(
    recipe: Annotated[str, typer.Argument(help="Recipe YAML file describing the sweep.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each gets cores // workers threads).")
    ] = 1,
    as_json: JsonOption = False,
    executor: Annotated[
        str, typer.Option(help="Where nodes run: local (this machine) or ray.")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (default: start a local instance for the run)."),
    ] = None,
    cpus_per_node: Annotated[
        float | None, typer.Option(min=0.01, help="Ray: CPUs per node (default: the recipe's).")
    ] = None,
    gpus_per_node: Annotated[
        float | None, typer.Option(min=0, help="Ray: GPUs per node (default: the recipe's).")
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(min=0, help="Ray: reruns of a node whose worker died (default: 2)."),
    ] = None,
) -> None:
    """Run a sweep recipe: train, compress and evaluate each model it lists that is missing."""
    from rich.table import Table

    from compresslens.run import load_recipe, run_recipe
    from compresslens.run.ray_executor import RayOptions

    try:
        plan = load_recipe(recipe)
        ws = open_workspace(workspace, must_exist=False)
        ray = RayOptions(address, cpus_per_node, gpus_per_node, retries)
        with progress_bars() as update:
            summary = run_recipe(
                plan, ws, workers=workers, progress=update, executor=executor, ray=ray
            )
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        table = Table(title=f"{len(summary.nodes)} models, {summary.wall_time_s:.1f} s")
        rows = summary.stage_rows()
        for column in rows[0]:
            table.add_column(column, justify="left" if column == "stage" else "right")
        for row in rows[1:]:
            table.add_row(*row)
        stdout().print(table)
    if not summary.ok:
        for failure in summary.failures:
            last = (failure.error or "").strip().splitlines()[-1:] or ["?"]
            console.print(
                f"[bold red]failed:[/] {escape(failure.name)} ({failure.id}): {escape(last[0])}",
                soft_wrap=True,
            )
        raise typer.Exit(1)


@app.command()
def demo(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    serve: Annotated[bool, typer.Option(help="Serve the UI after building.")] = True,
    host: Annotated[
        str, typer.Option(help="Address to bind (local only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8765,
    lm_steps: Annotated[
        int | None,
        typer.Option(
            "--lm-steps",
            min=1,
            help="Training steps of the demo LM (default 400).",
            show_default=False,
        ),
    ] = None,
    lm: Annotated[
        bool, typer.Option("--lm/--no-lm", help="Include the language model and its sweep.")
    ] = True,
) -> None:
    """Build the demo workspace (Fashion-MNIST, trained base models, the demo LM and its
    sweep), then serve it."""
    from compresslens.demo import DemoOptions, build_demo

    options = DemoOptions(lm=lm) if lm_steps is None else DemoOptions(lm=lm, lm_steps=lm_steps)
    try:
        ws = open_workspace(workspace, must_exist=False)
        with progress_bars() as update:
            result = build_demo(ws, options, progress=update)
    except CompressLensError as exc:
        fail(exc)
    list_models(workspace=workspace, wide=False, as_json=False)
    if result.failures:
        for failure in result.failures:
            console.print(
                f"[bold red]failed:[/] {escape(failure.name)}: {escape(str(failure.error))}",
                soft_wrap=True,
            )
        raise typer.Exit(1)
    if serve:
        serve_workspace(ws, host, port)


@app.command()
def serve(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    host: Annotated[
        str, typer.Option(help="Address to bind (local only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            help="Token every request must carry (default $COMPRESSLENS_TOKEN; off loopback "
            "a new one is generated and printed).",
            show_default=False,
        ),
    ] = None,
    max_jobs: Annotated[
        int, typer.Option(min=1, help="Analysis jobs queued or running at once (then 429).")
    ] = 8,
) -> None:
    """Serve the workspace's web UI until Ctrl-C (off loopback only with a token)."""
    try:
        ws = open_workspace(workspace)
        serve_workspace(ws, host, port, token=token, max_jobs=max_jobs)
    except CompressLensError as exc:
        fail(exc)


def serve_workspace(
    ws: Any, host: str, port: int, token: str | None = None, max_jobs: int = 8
) -> None:
    from compresslens.server.app import run_server

    run_server(ws, host=host, port=port, token=token, max_jobs=max_jobs)
