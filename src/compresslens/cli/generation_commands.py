"""`compresslens generate`: a causal LM's greedy continuations of a token dataset's fixed
prompts, or (with --base) both models' side by side with the first diverging token marked
⟦…⟧. One `Workspace` call each (generate / compare_generations), as the server answers."""

from __future__ import annotations

from collections.abc import Sequence
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
from compresslens.errors import CompressLensError

NEWLINE = "↵"  # a generated line break, kept on one output line


@app.command()
def generate(
    model: Annotated[str, typer.Argument(help="Causal LM id or name.")],
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="Token dataset id or name (its prompts).")
    ],
    base: Annotated[
        str | None,
        typer.Option("--base", help="Compare with this model: first diverging token marked ⟦…⟧."),
    ] = None,
    prompts: Annotated[int, typer.Option("--prompts", help="Entries to prompt with.")] = 16,
    prompt_tokens: Annotated[
        int, typer.Option("--prompt-tokens", help="Tokens of each entry in its prompt.")
    ] = 8,
    length: Annotated[int, typer.Option("--length", help="Tokens to generate greedily.")] = 32,
    threads: Annotated[
        int, typer.Option("--threads", help="Torch threads (part of the stored result's key).")
    ] = 1,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Greedy continuations of the dataset's first entries (stored once per model)."""
    options = {"prompts": prompts, "prompt_tokens": prompt_tokens, "length": length}
    options |= {"threads": threads}
    try:
        ws = open_workspace(workspace)
        if base is None:
            document = ws.generate(model, dataset, **options)
        else:
            document = ws.compare_generations(base, model, dataset, **options)
    except CompressLensError as exc:
        fail(exc)
    emit(document, as_json, render_generations if base is None else render_comparison)


def render_generations(document: dict[str, Any]) -> None:
    out = stdout()
    out.print(
        escape(
            f"{document['model']['name']} on {document['dataset']['name']}: "
            f"{len(document['generations'])} prompts of {document['prompt_tokens']} tokens, "
            f"{document['length']} generated (prompt │ continuation)"
        )
    )
    for row in document["generations"]:
        line = f"entry {row['entry']}: {one_line(row['prompt_text'])} │ {one_line(row['text'])}"
        out.print(escape(line), highlight=False)


def render_comparison(document: dict[str, Any]) -> None:
    out = stdout()
    summary = document["summary"]
    mean_first = summary["mean_first_divergence"]
    out.print(
        escape(
            f"base {document['base']['name']} vs {document['model']['name']} on "
            f"{document['dataset']['name']}: {summary['identical']}/{summary['prompts']} "
            f"identical, mean shared prefix {summary['mean_shared_prefix']:.1f} of "
            f"{document['length']}, mean first divergence "
            + ("none" if mean_first is None else f"{mean_first:.1f}")
        ),
        highlight=False,
    )
    for row in document["prompts"]:
        first = row["first_divergence"]
        where = "identical" if first is None else f"first divergence at token {first}"
        out.print(escape(f"entry {row['entry']}: {one_line(row['prompt_text'])} ({where})"))
        for label, key in (("base ", "base_tokens"), ("model", "model_tokens")):
            out.print(escape(f"  {label} │ {marked(row[key], first)}"), highlight=False)


def marked(tokens: Sequence[str], first: int | None) -> str:
    """The generated text with ⟦…⟧ around the token at the first divergence."""
    if first is None or first >= len(tokens):
        return one_line("".join(tokens))
    pieces = [*tokens[:first], f"⟦{tokens[first]}⟧", *tokens[first + 1 :]]
    return one_line("".join(pieces))


def one_line(text: str) -> str:
    return text.replace("\r\n", NEWLINE).replace("\n", NEWLINE)
