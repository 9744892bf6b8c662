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
    out.print(f"versus [bold]{escape(document['base']['name'])}[/] on {document['dataset']}")
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
