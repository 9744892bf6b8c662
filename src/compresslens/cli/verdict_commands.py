"""`compresslens verdict`: may this compressed model ship? A gate for CI pipelines.

Exit code 0 when a drop beyond the tolerances is excluded at confidence 1 − alpha
("equivalent"), 1 otherwise ("regression", "inconclusive", or an error), so a pipeline
step fails unless the evidence clears the model. One `Workspace.verdict` call.
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

CALL_STYLE = {"pass": "blue", "regression": "red", "inconclusive": "yellow"}
VERDICT_STYLE = {"equivalent": "bold blue", "regression": "bold red", "inconclusive": "bold yellow"}


@app.command()
def verdict(
    base: Annotated[str, typer.Argument(help="Base model id or name, or a selector (seeds).")],
    model: Annotated[
        str, typer.Argument(help="Compressed model id or name, or a selector (seeds).")
    ],
    max_drop: Annotated[
        float, typer.Option(min=0.0, max=100.0, help="Tolerated overall drop, accuracy points.")
    ] = 0.5,
    max_class_drop: Annotated[
        float,
        typer.Option(min=0.0, max=100.0, help="Tolerated drop in any class or subgroup, points."),
    ] = 2.0,
    alpha: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="1 − confidence of the one-sided bounds.")
    ] = 0.05,
    dataset: DatasetOption = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    show: Annotated[int, typer.Option(min=0, help="Rows of evidence to print (worst first).")] = 8,
    as_json: JsonOption = False,
) -> None:
    """Is a drop beyond --max-drop overall or --max-class-drop in any class or subgroup
    excluded at confidence 1 − alpha? Prints the verdict and the evidence; exits 0 only when
    it is ("equivalent"), 1 when a regression is established or cannot be excluded."""
    try:
        result = open_workspace(workspace).verdict(
            base,
            model,
            dataset,
            max_drop=max_drop,
            max_class_drop=max_class_drop,
            alpha=alpha,
        )
    except CompressLensError as exc:
        fail(exc)
    emit(result.to_dict(), as_json, lambda document: render_verdict(document, show))
    raise typer.Exit(0 if result.passed else 1)


def render_verdict(document: dict[str, Any], show: int) -> None:
    """The verdict line, the flip evidence, then the overall row and the worst groups."""
    out = stdout()
    call = document["verdict"]
    confidence = f"{100 * document['confidence']:g}%"
    sides = f"{_side(document['model'])} vs {_side(document['base'])}"
    out.print(
        f"[{VERDICT_STYLE[call]}]{call.upper()}[/] "
        + escape(f"{sides} on {document['dataset']} ({document['mode']}, {confidence})")
    )
    out.print(escape(document["meaning"]))
    if document["mcnemar"] is not None:
        flips = document["mcnemar"]
        out.print(
            escape(
                f"flips: {flips['lost']} lost, {flips['gained']} gained; McNemar exact "
                f"p = {flips['p_value']:.3g}; negative flip rate {100 * document['nfr']:.2f}%"
            )
        )
    elif document["nfr"] is not None:
        out.print(escape(f"negative flip rate {100 * document['nfr']:.2f}% (mean over seeds)"))
    rows = [document["overall"], *sorted(document["rows"], key=_lower)][: show + 1]
    out.print(
        escape(
            f"{'group':<24} {'n':>6} {'Δ pts':>7} {'lower':>7} {'limit':>6} "
            f"{'p raw':>8} {'p BH':>8}  call"
        )
    )
    for row in rows:
        name = (
            row["group"]
            if row["family"] in ("overall", "class")
            else (f"{row['family']}={row['group']}")
        )
        out.print(
            escape(
                f"{name[:24]:<24} {row['count']:>6} {_number(row['difference_pts'])} "
                f"{_number(row['lower_pts'])} {-row['margin_pts']:>6.2f} "
                f"{_p(row['mcnemar_p'])} {_p(row['p_adjusted'])}  "
            )
            + f"[{CALL_STYLE[row['call']]}]{row['call']}[/]"
        )


def _side(names: list[str]) -> str:
    """One model's name, or a population as its size and first member."""
    return names[0] if len(names) == 1 else f"{len(names)} models ({names[0]}, …)"


def _lower(row: dict[str, Any]) -> float:
    return row["lower_pts"] if row["lower_pts"] is not None else float("-inf")


def _number(value: float | None) -> str:
    return f"{value:>+7.2f}" if value is not None else f"{'—':>7}"


def _p(value: float | None) -> str:
    return f"{value:>8.3g}" if value is not None else f"{'—':>8}"
