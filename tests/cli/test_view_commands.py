"""`compresslens behaviours` and `compresslens differences`: the views' answers, --json too."""

from __future__ import annotations

import json

from cli_runner import fails, succeeds

import compresslens as cl


def test_behaviours_json_is_the_python_answer(prunings: cl.Workspace) -> None:
    where = str(prunings.location)
    out = succeeds("behaviours", "base", "p5", "p8", "-w", where, "--n-boot", "10", "--json")
    assert json.loads(out) == prunings.behaviours("base", ["p5", "p8"], n_boot=10)


def test_behaviours_print_a_line_per_model(prunings: cl.Workspace) -> None:
    out = succeeds("behaviours", "base", "p8", "-w", str(prunings.location), "--n-boot", "10")
    assert out.splitlines() == [
        "versus base on abc",
        "  p8: accuracy 0.5833 (-0.4167), agreement 0.5833, correct→incorrect 5, "
        "incorrect→correct 0",
    ]


def test_differences_json_is_the_python_answer(prunings: cl.Workspace) -> None:
    out = succeeds("differences", "p5,p8", "-w", str(prunings.location), "--json")
    assert json.loads(out) == prunings.differences("p5,p8")


def test_differences_print_variables_and_shared_facts(prunings: cl.Workspace) -> None:
    out = succeeds("differences", "p5,p8", "-w", str(prunings.location))
    assert out.splitlines() == [
        "shared ancestor base",
        "  prune · amount: 0.5 (1), 0.8 (1)",
        "  shared operation sequence = prune.magnitude",
        "  shared prune = prune.magnitude",
        "  shared prune · scope = global",
        "  shared prune · seed = 0",
    ]


def test_an_unknown_model_is_a_clean_refusal(prunings: cl.Workspace) -> None:
    assert "ghost" in fails("differences", "p5,ghost", "-w", str(prunings.location))
