"""`compresslens attribute A B`: which modules of a compressed model cause its flips."""

from __future__ import annotations

import json
from pathlib import Path
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
    progress_bars,
    stdout,
)
from compresslens.errors import CompressLensError

# the CLI spells the flip kinds with hyphens, the facade with underscores
FLIP_CHOICES = {"correct-to-incorrect": "correct_to_incorrect", "any": "any"}


@app.command()
def attribute(
    base: Annotated[str, typer.Argument(help="Base model id or name.")],
    model: Annotated[str, typer.Argument(help="Compressed model id or name.")],
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", "-d", help="Dataset id or name (default: shared one)."),
    ] = None,
    class_: Annotated[
        str | None,
        typer.Option("--class", metavar="C", help="Only flips of instances labelled C (id/name)."),
    ] = None,
    flips: Annotated[
        str,
        typer.Option(
            "--flips", metavar="KIND", help="correct-to-incorrect, or any changed prediction."
        ),
    ] = "correct-to-incorrect",
    groups: Annotated[
        str,
        typer.Option(
            "--groups", metavar="G", help="modules, blocks, or kinds (all norms, attention, …)."
        ),
    ] = "modules",
    target: Annotated[
        float, typer.Option(min=0, max=1, help="Share of flips the greedy set must undo.")
    ] = 0.9,
    control: Annotated[
        int, typer.Option(min=0, help="Unchanged instances re-run to count created flips.")
    ] = 256,
    recipe: Annotated[
        Path | None,
        typer.Option(
            "--recipe",
            metavar="FILE",
            help="Also write MODEL's recipe with the greedy set's modules kept as the base's "
            "(added to every exclude list of its chain).",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Flip-to-layer attribution: restore the base's weights one module (or group) at a time
    inside the compressed model, re-run only the flipped instances, and rank the modules by
    the flips they undo; print the greedy set that undoes at least --target of them (and,
    with --recipe, write the recipe that leaves that set uncompressed)."""
    try:
        kind = FLIP_CHOICES.get(flips.replace("_", "-"))
        if kind is None:
            raise CompressLensError(f"--flips must be one of {list(FLIP_CHOICES)}, got {flips!r}")
        with progress_bars() as update:
            result = open_workspace(workspace).attribute_flips(
                base,
                model,
                dataset,
                flips=kind,
                class_=class_,
                groups=groups,
                target=target,
                control=control,
                progress=lambda done, total: update("restorations", done, total),
            )
        if recipe is not None:
            chosen = set(result.greedy_set)
            keep = [m for row in result.rows if row.module in chosen for m in row.members]
            text = open_workspace(workspace).export_recipe(model, keep=keep)
            try:
                recipe.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CompressLensError(f"cannot write {recipe}: {exc.strerror or exc}") from None
    except CompressLensError as exc:
        fail(exc)
    document = result.to_json()
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        render_attribution(document)
        if recipe is not None:
            stdout().print(escape(f"wrote {recipe}: the chain keeping {', '.join(keep)}"))


def render_attribution(document: dict[str, Any]) -> None:
    """The ranked table (undone, share, created, parameters; unrestorable with the reason),
    then the greedy set with its cumulative share, then the cost."""
    out = stdout()
    context, cost = document["context"], document["cost"]
    label, names = context["class"], context["class_names"]
    named = f" ({names[label]})" if label is not None and label < len(names) else ""
    only = "" if label is None else f", class {label}{named}"
    out.print(
        escape(
            f"{context['model']} vs {context['base']} on {context['dataset']}: "
            f"{document['flips']} flips ({context['flip_kind']}{only}), "
            f"restoring {context['groups']} one at a time"
        )
    )
    out.print(escape(f"  {'module':<32} {'undone':>7} {'share':>7} {'created':>8} {'params':>10}"))
    for row in document["rows"]:
        if row["unchanged"]:
            out.print(escape(f"  {row['module']:<32} unchanged: holds the base's values"))
        elif row["restorable"]:
            out.print(
                escape(
                    f"  {row['module']:<32} {row['undone']:>7} {row['undone_share']:>7.1%} "
                    f"{row['created']:>8} {row['parameters']:>10}"
                )
            )
        else:
            out.print(escape(f"  {row['module']:<32} cannot be restored: {row['reason']}"))
    steps = document["greedy"]
    chain = " + ".join(f"{s['module']} ({s['cumulative_share']:.1%})" for s in steps) or "none"
    verdict = "reaches" if document["reached"] else "does not reach"
    out.print(escape(f"greedy set: {chain}; {verdict} {document['target']:.0%}"))
    out.print(
        escape(
            f"cost: {cost['evaluations']} evaluations of {cost['flips'] + cost['control']} "
            f"instances ({cost['control']} unchanged controls), {cost['seconds']:.2f} s"
        )
    )
