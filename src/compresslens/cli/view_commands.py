"""Commands for what the UI's views show: behaviours (many models against a base) and
differences (Selection details), each with --json (the API's answer)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

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

DatasetOption = Annotated[
    str | None, typer.Option("--dataset", "-d", help="Dataset id or name (default: shared one).")
]


def emit(document: dict[str, Any], as_json: bool, render: Any) -> None:
    if as_json:
        import json

        from compresslens.jsonable import jsonable

        print(json.dumps(jsonable(document), indent=2))
    else:
        render(document)


@app.command()
def behaviours(
    base: Annotated[str, typer.Argument(help="Base model id or name.")],
    models: Annotated[list[str], typer.Argument(help="Model ids, names or id prefixes.")],
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    n_boot: Annotated[int, typer.Option(min=1, help="Bootstrap replicates.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Each MODEL against BASE at once: accuracy change, agreement, flips (Behaviours view)."""
    try:
        document = open_workspace(workspace).behaviours(base, models, dataset, n_boot=n_boot)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_behaviours)


def render_behaviours(document: dict[str, Any]) -> None:
    out = stdout()
    out.print(
        f"versus [bold]{escape(document['base']['name'])}[/] on {escape(document['dataset'])}"
    )
    for record in document["models"]:
        s = record["summary"]
        flips = s["flips"]
        out.print(
            f"  {escape(record['model']['name'])}: accuracy {s['model_accuracy']:.4f} "
            f"({s['accuracy_change']:+.4f}), agreement {s['agreement']:.4f}, "
            f"correct→incorrect {flips['correct_to_incorrect']}, "
            f"incorrect→correct {flips['incorrect_to_correct']}"
        )


@app.command()
def differences(
    models: Annotated[str, typer.Argument(help="Selector: ids/names, tag:T, op:NAME, k=v.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """What differs between the selected models' provenance, and what they share."""
    try:
        document = open_workspace(workspace).differences(models)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_differences)


def render_differences(document: dict[str, Any]) -> None:
    out = stdout()
    ancestor = document["ancestor"]
    out.print(
        f"shared ancestor [bold]{escape(ancestor['name'])}[/]"
        if ancestor
        else "no shared ancestor (different origins)"
    )
    if not document["variables"]:
        out.print("nothing differs")
    for variable in document["variables"]:
        levels = ", ".join(f"{lv['label']} ({len(lv['ids'])})" for lv in variable["levels"])
        also = f"  [dim](also {', '.join(variable['aliases'])})[/]" if variable["aliases"] else ""
        out.print(f"  {escape(variable['label'])}: {escape(levels)}{also}")
    for fact in document["shared"]:
        out.print(f"  [dim]shared[/] {escape(fact['label'])} = {escape(fact['value'])}")


@app.command("pie-gallery")
def pie_gallery(
    baseline: Annotated[str, typer.Option(help="Selector of the baseline population.")],
    compressed: Annotated[str, typer.Option(help="Selector of the compressed population.")],
    by: Annotated[str | None, typer.Option(help="Split the compressed by this parameter.")] = None,
    dataset: DatasetOption = None,
    level: Annotated[
        str | None, typer.Option(help="The level to page (default: the most compressed).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Only PIEs of this true class.")] = None,
    sort: Annotated[
        str, typer.Option(help="instance, baseline_vote or compressed_vote.")
    ] = "instance",
    descending: Annotated[bool, typer.Option("--descending")] = False,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1)] = 40,
    alpha: float = 0.05,
    bh: Annotated[bool, typer.Option(help="Benjamini–Hochberg (beyond the paper).")] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """The PIE view: per level the PIE aggregates, and one page of one level's PIE gallery."""
    try:
        document = open_workspace(workspace).pies_view(
            baseline,
            compressed,
            by,
            dataset,
            alpha=alpha,
            correction="bh" if bh else "none",
            level=level,
            label=label,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_pie_gallery)


def render_pie_gallery(document: dict[str, Any]) -> None:
    out = stdout()
    for level in document["levels"]:
        name = f"{document['by']} = {level['key']}" if document["by"] else "all compressed"
        out.print(escape(f"{name}: {level['summary']['pie_count']} PIEs"))
    gallery = document["gallery"]
    out.print(escape(f"gallery ({gallery['total']} PIEs, from {gallery['offset']}):"))
    for row in gallery["rows"]:
        out.print(
            escape(
                f"  {row['instance']:>6}  {row['label']}: baseline {row['baseline_modal']} "
                f"({row['baseline_vote']:.2f}), compressed {row['compressed_modal']} "
                f"({row['compressed_vote']:.2f})"
            )
        )


@app.command()
def calibrations(
    base: Annotated[str, typer.Argument(help="Base model id or name.")],
    models: Annotated[list[str], typer.Argument(help="Model ids, names or id prefixes.")],
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """ECE and 15-bin reliability curves of BASE and each MODEL (the Behaviours view's chart)."""
    try:
        document = open_workspace(workspace).calibration(base, models, dataset)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_calibrations)


def render_calibrations(document: dict[str, Any]) -> None:
    out = stdout()
    out.print(escape(f"ECE on {document['dataset']}"))
    for row in [document["base"], *document["models"]]:
        ece = "n/a" if row["ece"] is None else f"{row['ece']:.4f}"
        out.print(escape(f"  {row['name']}: {ece}"))


@app.command()
def activations(
    base: Annotated[str, typer.Argument(help="Base model id or name.")],
    model: Annotated[str, typer.Argument(help="Compressed model id or name.")],
    dataset: DatasetOption = None,
    sample: Annotated[int, typer.Option(min=8, help="First N instances.")] = 1024,
    threshold: Annotated[
        float, typer.Option(min=0, max=1, help="CKA below this marks a diverging layer.")
    ] = 0.9,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """CKA / cosine / SQNR of both models' activations per module, first diverging layer."""
    try:
        document = open_workspace(workspace).activations(
            base, model, dataset, sample=sample, threshold=threshold
        )
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_activations)


def render_activations(document: dict[str, Any]) -> None:
    out = stdout()
    first = document["first_divergent_layer"]
    out.print(escape(f"first module with CKA < {document['threshold']}: {first or 'none'}"))
    for row in document["modules"]:
        cka = row.get("cka")
        out.print(escape(f"  {row['module']}: CKA {'n/a' if cka is None else f'{cka:.4f}'}"))


@app.command("select")
def select_models(
    selector: Annotated[str, typer.Argument(help="ids/names, tag:T, op:NAME, k=v; & and ,")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """The models a selector picks and the datasets all of them are evaluated on."""
    try:
        document = open_workspace(workspace).selection(selector)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_selection)


def render_selection(document: dict[str, Any]) -> None:
    out = stdout()
    out.print(escape(f"{len(document['ids'])} models: {', '.join(document['ids'])}"))
    out.print(escape(f"evaluated on: {', '.join(document['datasets']) or 'no shared dataset'}"))


@app.command()
def outputs(
    model: Annotated[str, typer.Argument(help="Model id or name.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset id or name.")],
    offset: Annotated[int, typer.Option(min=0, help="First row.")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="Rows.")] = 20,
    logits: Annotated[bool, typer.Option(help="Add the stored logits per instance.")] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """A model's stored per-instance outputs on a dataset (label, prediction, correct, …): one
    page, as `GET /api/models/{key}/outputs` answers it."""
    try:
        table = open_workspace(workspace).output_table(model, dataset, logits=logits)
        document = table.page(offset, limit)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_outputs)


def render_outputs(document: dict[str, Any]) -> None:
    out = stdout()
    shown = [c for c in document["columns"] if c != "logits"]
    first, count = document["offset"], len(document["rows"])
    out.print(
        escape(
            f"{document['model']} on {document['dataset']}: rows {first}–{first + count - 1} "
            f"of {document['total']}"
        )
    )
    out.print(escape("  ".join(f"{name:>10}" for name in shown)))
    for row in document["rows"]:
        cells = (
            f"{v:>10.4f}" if isinstance(v, float) else f"{v!s:>10}" for v in (row[n] for n in shown)
        )
        out.print(escape("  ".join(cells)))
