"""Analysis commands: compare, pies, layers, geometry, robustness (all with --json)."""

from __future__ import annotations

import json
import warnings
from typing import Annotated, Any

import typer
from rich.markup import escape

from compresslens.cli.app import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    console,
    fail,
    open_workspace,
    progress_bars,
    stdout,
)
from compresslens.cli.params import parse_key_values
from compresslens.errors import CompressLensError, PopulationSizeWarning

PIE_COLUMNS = (
    "instance",
    "label",
    "baseline_modal",
    "compressed_modal",
    "baseline_vote",
    "compressed_vote",
)
DatasetOption = Annotated[
    str | None, typer.Option("--dataset", "-d", help="Dataset id or name (default: shared one).")
]


def emit(document: dict[str, Any], as_json: bool, render: Any) -> None:
    if as_json:
        from compresslens.jsonable import jsonable

        print(json.dumps(jsonable(document), indent=2))
    else:
        render(document)


def write_table(columns: Any, path: str) -> Any:
    """`compresslens.export.write_table`, imported only by a command that exports (pyarrow)."""
    from compresslens.export import write_table as write

    return write(columns, path)


@app.command()
def compare(
    base: Annotated[str, typer.Argument(help="Base model id or name.")],
    model: Annotated[str, typer.Argument(help="Compressed model id or name.")],
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    n_boot: Annotated[int, typer.Option(min=10, help="Bootstrap replicates.")] = 1000,
    export: Annotated[
        str | None, typer.Option(help="Write the per-instance table to FILE.parquet|.csv.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What changed from BASE to MODEL: accuracy, flips, transitions, classes, subgroups."""
    try:
        comparison = open_workspace(workspace).compare(base, model, dataset, n_boot=n_boot)
        document = {
            "summary": comparison.summary(),
            "per_class": comparison.per_class(),
            "per_subgroup": comparison.per_subgroup(),
        }
        if export is not None:
            document["exported"] = str(write_table(comparison.instances(), export))
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_comparison)


def render_comparison(document: dict[str, Any]) -> None:
    s = document["summary"]
    out = stdout()
    out.print(
        f"[bold]{escape(s['model']['name'])}[/] vs [bold]{escape(s['base']['name'])}[/] on "
        f"{escape(s['dataset'])} "
        f"({s['num_instances']} instances)"
    )
    out.print(
        f"accuracy {s['base_accuracy']:.4f} → {s['model_accuracy']:.4f} "
        f"({s['accuracy_change']:+.4f}); agreement {s['agreement']:.4f}; flips {s['flips']}"
    )
    for t in s["top_transitions"][:5]:
        out.print(escape(f"  {t['transition']}: {t['count']}"))
    from compresslens.analysis.predictions import EXCESS_MEANING

    out.print(
        "per class: Δ accuracy [95% CI], p after Benjamini–Hochberg over the classes (raw p); "
        "named where it differs significantly from overall"
    )
    for row in document["per_class"]:
        line = (
            f" {row['class']:<14} {row['delta']:+.4f} "
            f"[{row['delta_low']:+.4f}, {row['delta_high']:+.4f}]"
            f"  p {_p(row.get('p_adjusted'))} ({_p(row.get('p_value'))})"
        )
        if row["excess"] is not None:
            line += f"  {EXCESS_MEANING[row['excess']]}"
        out.print(escape(line))


@app.command()
def pies(
    baseline: Annotated[str, typer.Option(help="Selector of the baseline population.")],
    compressed: Annotated[str, typer.Option(help="Selector of the compressed population.")],
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    alpha: float = 0.05,
    bh: Annotated[bool, typer.Option(help="Benjamini–Hochberg (beyond the paper).")] = False,
    by: Annotated[
        str | None, typer.Option(help="Report each value of this operation parameter apart.")
    ] = None,
    export: Annotated[
        str | None, typer.Option(help="Write the PIE instance ids to FILE.parquet|.csv.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Pruning Identified Exemplars and impacted classes (Hooker et al.).

    Selectors: ids/names, tag:T, op:NAME, key=value; `&` = and, `,` = or. With --by amount,
    the compressed models are split into one population per amount.
    """
    correction = "bh" if bh else "none"
    try:
        ws = open_workspace(workspace)
        with warnings.catch_warnings():  # the reports list them; printed once, below
            warnings.simplefilter("ignore", PopulationSizeWarning)
            if by is None:
                report = ws.pies(baseline, compressed, dataset, alpha=alpha, correction=correction)
                if export is not None:
                    rows = report["pies"]
                    write_table({key: [row[key] for row in rows] for key in PIE_COLUMNS}, export)
            else:
                levels = ws.pies_by_level(
                    baseline, compressed, by, dataset, alpha=alpha, correction=correction
                )
    except CompressLensError as exc:
        fail(exc)
    if as_json:  # the document lists them too; stderr keeps stdout pure JSON
        for message in report["warnings"] if by is None else _level_warnings(levels):
            console.print(f"[yellow]warning:[/] {escape(message)}")
    if by is None:
        emit(report, as_json, render_pies)
    else:
        emit({"levels": levels}, as_json, render_pie_levels)


def _level_warnings(levels: list[dict[str, Any]]) -> list[str]:
    """Every level's warnings, each named by its level."""
    return [
        ", ".join(f"{k} = {v}" for k, v in report["level"].items()) + f": {message}"
        for report in levels
        for message in report["warnings"]
    ]


def render_pie_levels(document: dict[str, Any]) -> None:
    for report in document["levels"]:
        level = ", ".join(f"{k} = {v}" for k, v in report["level"].items())
        stdout().print(f"[bold]{escape(level)}[/]")
        render_pies(report)


def render_pies(report: dict[str, Any]) -> None:
    out = stdout()
    s = report["summary"]
    out.print(
        escape(
            f"{len(report['baseline'])} baseline vs {len(report['compressed'])} compressed "
            f"models on {report['dataset']}: {s['pie_count']} PIEs ({s['pie_share']:.2%})"
        )
    )
    for message in report["warnings"]:
        out.print(f"[yellow]warning:[/] {escape(message)}")
    out.print(escape(f"impacted classes (p ≤ alpha): {report['impacted_classes']}"))
    for row in report["classes"]:
        if row["impacted"]:
            out.print(
                escape(
                    f"  {row['class']}: t={row['t']:.2f} p={row['p_value']:.4f} "
                    f"normalized recall change {row['normalized_recall_change']:+.4f}"
                )
            )


@app.command()
def layers(
    base: str,
    model: str,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    activations: Annotated[bool, typer.Option(help="Also compare activations (CKA).")] = False,
    sample: int = 1024,
    as_json: JsonOption = False,
) -> None:
    """Per-module weight comparison (and activation similarity with --activations)."""
    try:
        comparison = open_workspace(workspace).compare(base, model, dataset)
        document: dict[str, Any] = {"weights": comparison.layers()}
        if activations:
            document["activations"] = comparison.activations(sample=sample)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_layers)


def render_layers(document: dict[str, Any]) -> None:
    out = stdout()
    for row in document["weights"]["modules"]:
        sqnr = row.get("sqnr_db")
        out.print(
            f"{row['module']:<28} sparsity {row['base']['sparsity']:.3f} → "
            f"{row['model']['sparsity']:.3f}"
            + ("" if row["comparable"] else f"  ({row['reason']})")
            + ("" if sqnr is None else f"  SQNR {sqnr:.1f} dB")
        )
    if "activations" in document:
        acts = document["activations"]
        out.print(f"first layer with CKA below threshold: {acts.get('first_divergent_layer')}")


@app.command()
def geometry(
    base: str,
    model: Annotated[str | None, typer.Argument(help="Second model: show the change.")] = None,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Last-layer geometry (angle θ_y, feature length, margin) per class; with a second
    model, the change per sample and the samples that became fragile or robust."""
    try:
        ws = open_workspace(workspace)
        if model is None:
            document = ws.geometry(base, dataset)
        else:
            document = ws.compare(base, model, dataset).geometry()
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_one_geometry if model is None else render_geometry)


def render_one_geometry(document: dict[str, Any]) -> None:
    out = stdout()
    per_class = document["per_class"]
    out.print(escape(f"{document['model']} on {document['dataset']}: class, θ_y, ‖f‖, margin"))
    for c, name in enumerate(document["class_names"]):
        out.print(
            escape(
                f"  {name:<14} {per_class['angle']['mean'][c]:.3f}  "
                f"{per_class['length']['mean'][c]:.2f}  {per_class['margin']['mean'][c]:.2f}"
            )
        )


@app.command("geometry-map")
def geometry_map(
    models: Annotated[str, typer.Argument(help="Selector of the models to place.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d")],
    base: Annotated[str | None, typer.Option(help="Model whose scales normalize all.")] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Map models by their geometry vectors (PCA/UMAP) with the minimum spanning tree."""
    try:
        document = open_workspace(workspace).geometry_map(models, dataset, base=base)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_geometry_map)


def render_geometry_map(document: dict[str, Any]) -> None:
    out = stdout()
    for model, (x, y) in zip(document["models"], document["coordinates"], strict=True):
        out.print(escape(f"  {model['name']:<48} ({x:+.3f}, {y:+.3f})"))
    out.print(f"minimum spanning tree ({document['method']}):")
    for edge in document["edges"]:
        out.print(escape(f"  {edge['source']} — {edge['target']}  {edge['distance']:.3f}"))


def render_geometry(document: dict[str, Any]) -> None:
    out = stdout()
    fragility = document["fragility"]
    out.print(
        f"robust→fragile {len(fragility['robust_to_fragile'])}, "
        f"fragile→robust {len(fragility['fragile_to_robust'])}"
    )
    for side in ("base", "model"):
        angle = document[side]["angle"]["mean"]
        length = document[side]["length"]["mean"]
        out.print(f"{side}: mean θ_y per class {[round(float(a), 3) for a in angle]}")
        out.print(f"{side}: mean ‖f‖ per class {[round(float(v), 2) for v in length]}")


@app.command()
def robustness(
    models: Annotated[str, typer.Argument(help="Selector: ids/names, tag:T, op:NAME, k=v.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Image dataset.")],
    base: Annotated[str | None, typer.Option(help="Reference model (default: first).")] = None,
    corruptions: Annotated[str | None, typer.Option(help="Comma-separated names.")] = None,
    severities: Annotated[str, typer.Option(help="Comma-separated, 1..5.")] = "1,2,3,4,5",
    limit: Annotated[int, typer.Option(min=1, help="First N instances.")] = 2000,
    export: Annotated[str | None, typer.Option(help="Write the rows to FILE.parquet|.csv.")] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Accuracy under generated corruptions × severities, and the drop versus the base."""
    from compresslens.data.corruptions import CORRUPTIONS

    try:
        names = CORRUPTIONS if corruptions is None else [c.strip() for c in corruptions.split(",")]
        levels = [int(s) for s in severities.split(",")]
        with progress_bars() as update:
            rows = open_workspace(workspace).robustness(
                models,
                dataset,
                base=base,
                corruptions=names,
                severities=levels,
                limit=limit,
                progress=lambda done, total: update("robustness", done, total),
            )
        if export is not None:
            write_table({key: [row[key] for row in rows] for key in rows[0]}, export)
    except (CompressLensError, ValueError) as exc:
        fail(exc)
    emit({"rows": rows}, as_json, render_robustness)


def render_robustness(document: dict[str, Any]) -> None:
    out = stdout()
    for row in document["rows"]:
        out.print(
            escape(
                f"{row['model']:<40} {row['corruption']:<16} {row['severity']}  "
                f"acc {row['accuracy']:.4f}  drop {row['drop']:+.4f}"
            )
        )


@app.command()
def sensitivity(
    model: str,
    dataset: Annotated[str, typer.Option("--dataset", "-d")],
    op: Annotated[str, typer.Option("--op", help="Any operation with a module selection.")] = (
        "prune.magnitude"
    ),
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE (YAML value).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 2000,
    max_drop: float = 0.01,
    keep_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of the most sensitive layers kept at 8 bits.")
    ] = 0.25,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Per-layer sensitivity: compress one layer at a time, rank the accuracy drops, and
    print the exclude list / mixed-precision map the operations take."""
    try:
        params = parse_key_values(param)
        document = open_workspace(workspace).sensitivity(
            model, dataset, op, limit=limit, max_drop=max_drop, keep_share=keep_share, **params
        )
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_sensitivity)


def render_sensitivity(document: dict[str, Any]) -> None:
    out = stdout()
    op = document["operation"]["name"]
    out.print(escape(f"{document['model']}: {op} on one layer at a time ({document['dataset']})"))
    for row in document["ranking"]:
        out.print(escape(f"  {row['rank']:>2}. {row['layer']:<28} drop {row['drop']:+.4f}"))
    out.print(escape(f"exclude (drop > max): {document['exclude']}"))
    bits = document["mixed_precision"].items()
    out.print(escape("mixed precision: " + ", ".join(f"{n} {b} bits" for n, b in bits)))


@app.command()
def agreement(
    models: Annotated[str, typer.Argument(help="Selector of the models to compare pairwise.")],
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Pairwise prediction agreement between the selected models."""
    try:
        document = open_workspace(workspace).agreement(models, dataset)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_agreement)


def render_agreement(document: dict[str, Any]) -> None:
    out = stdout()
    for name, row in zip(document["models"], document["matrix"], strict=True):
        out.print(escape(f"{name[:40]:<40} " + " ".join(f"{v:.3f}" for v in row)))


@app.command()
def occlusion(
    model: str,
    index: Annotated[int, typer.Argument(min=0, help="Instance index in the dataset.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d")],
    patch: int = 4,
    stride: int = 4,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Occlusion attribution: change of θ_y, ‖f‖ and margin when each patch is hidden."""
    try:
        document = open_workspace(workspace).occlusion(
            model, dataset, index, patch=patch, stride=stride
        )
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_occlusion)


def render_occlusion(document: dict[str, Any]) -> None:
    out = stdout()
    out.print(escape(f"{document['model']}, instance {document['instance']}: margin change"))
    for row in document["margin"]:
        out.print(" ".join(f"{v:+6.2f}" for v in row))


def _p(value: float | None) -> str:
    """A p-value in a table: three decimals, or two significant digits below 0.001."""
    if value is None or value != value:
        return "–"
    return f"{value:.1e}" if value < 0.001 else f"{value:.3f}"
