"""Language models on held-out text: add-corpus (a token dataset) and tokens (a model
against its base on identical tokens, llama.cpp's KLD table plus the direction of change).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from compresslens.cli.analysis_commands import emit
from compresslens.cli.app import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    fail,
    open_workspace,
    stdout,
)
from compresslens.errors import CompressLensError, InvalidInputError


@app.command("add-corpus")
def add_corpus(
    name: Annotated[str, typer.Argument(help="Name of the token dataset in the workspace.")],
    tokenizer: Annotated[
        str,
        typer.Option(metavar="FOLDER", help="Local tokenizer folder (usually the LM's own)."),
    ],
    text_file: Annotated[
        Path | None,
        typer.Option(
            help="UTF-8 text whose entries are separated by lines holding only % (fortunes "
            "format); a file without such lines is one entry."
        ),
    ] = None,
    fortunes: Annotated[
        bool,
        typer.Option(
            "--fortunes",
            help="The held-out entries (every 20th) of the system's fortunes collections: "
            "the text the demo LM never trained on.",
        ),
    ] = False,
    separator: Annotated[
        str | None,
        typer.Option(help="The token between entries (default: the tokenizer's eos)."),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Register held-out text as a token dataset: one instance per predicted token."""
    from compresslens.data.corpora import parse_fortunes, read_fortunes, split_entries

    try:
        if (text_file is None) == (not fortunes):
            raise InvalidInputError("give one source: --text-file FILE or --fortunes")
        if text_file is not None:
            entries = parse_fortunes(text_file.read_bytes().decode("utf-8", errors="replace"))
        else:
            entries = list(split_entries(read_fortunes()).held_out)
        info = open_workspace(workspace).add_token_corpus(
            name, entries, tokenizer=tokenizer, separator=separator
        )
    except (CompressLensError, OSError) as exc:
        fail(exc)
    document = {
        "id": info.id,
        "name": info.name,
        "modality": info.modality,
        "tokens": info.num_instances,
        "vocabulary": info.num_classes,
        "entries": len(entries),
        "description": info.description,
    }
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        stdout().print(
            escape(
                f"{info.name} ({info.id}): {info.num_instances} tokens of {len(entries)} "
                f"entries, vocabulary {info.num_classes}"
            )
        )


@app.command()
def tokens(
    base: Annotated[str, typer.Argument(help="Base model id or name (e.g. the root).")],
    model: Annotated[str, typer.Argument(help="Compressed model id or name.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Token dataset id or name.")],
    k: Annotated[int, typer.Option(min=1, help="Top-k log-probabilities kept of the base.")] = 32,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """KLD, same-top-token rate and Δp of MODEL against BASE on identical tokens, the
    direction of the change (correct→incorrect, incorrect→correct) and flips by base margin."""
    try:
        document = open_workspace(workspace).token_comparison(base, model, dataset, k=k)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_tokens)


def render_tokens(document: dict[str, Any]) -> None:
    out = stdout()
    kld, delta = document["kld"], document["delta_p"]
    out.print(
        escape(
            f"{document['model']['name']} vs {document['base']['name']} on "
            f"{document['dataset']['name']}: {document['tokens']} tokens "
            f"(window {document['window']}, stride {document['stride']}, top-{document['k']})"
        )
    )
    rows = [
        ("PPL(base)", _num(document["base_perplexity"])),
        ("PPL(model)", _num(document["model_perplexity"])),
        ("Mean    KLD", _num(kld["mean"])),
        ("Maximum KLD", _num(kld["max"])),
        ("99.9%   KLD", _num(kld["p99.9"])),
        ("99.0%   KLD", _num(kld["p99"])),
        ("90.0%   KLD", _num(kld["p90"])),
        ("Median  KLD", _num(kld["median"])),
        ("Same top p", f"{100 * document['same_top_rate']:.3f} %"),
        ("Mean    Δp", _pct(delta["mean"])),
        *((f"{name[1:]:>4}%    Δp", _pct(delta[name])) for name in ("p99", "p95", "p50", "p5")),
        ("   1%    Δp", _pct(delta["p1"])),
    ]
    for label, value in rows:
        out.print(escape(f"{label:<14} {value:>14}"))
    out.print(
        escape(
            f"(the base's top-{document['k']} tokens hold {100 * document['base_top_k_mass']:.1f}"
            " % of its probability; the rest counts as one token: KLD is a lower bound)"
        )
    )
    out.print("direction of change (top-1 against the true token):")
    for key, label in (
        ("correct_to_incorrect", "correct→incorrect"),
        ("incorrect_to_correct", "incorrect→correct"),
    ):
        flips = document[key]
        out.print(
            escape(
                f"  {label:<18} {int(flips['count']):>7} ({100 * flips['rate']:.3f} %), "
                f"median base margin {_num(flips['median_base_margin'])}"
            )
        )
    out.print("top-1 changes by the base's top-1 margin p1 − p2:")
    out.print(escape(f"  {'margin':<12} {'tokens':>8} {'changed':>8} {'rate':>8} {'c→i':>6}"))
    for row in document["flips_by_base_margin"]:
        span = f"[{row['low']:.2f}, {row['high']:.2f})"
        rate = "—" if row["flip_rate"] is None else f"{100 * row['flip_rate']:.2f}%"
        out.print(
            escape(
                f"  {span:<12} {row['tokens']:>8} {row['top_changed']:>8} {rate:>8} "
                f"{row['correct_to_incorrect']:>6}"
            )
        )


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.6f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.3f} %"
