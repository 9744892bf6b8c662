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


def test_pie_gallery_json_is_the_python_view(prunings: cl.Workspace) -> None:
    where = str(prunings.location)
    arguments = ("--baseline", "base", "--compressed", "op:prune.magnitude", "--by", "amount")
    out = succeeds("pie-gallery", *arguments, "--label", "c", "--limit", "2", "-w", where, "--json")
    document = json.loads(out)
    assert document == prunings.pies_view(
        "base", "op:prune.magnitude", "amount", label="c", limit=2
    )
    gallery = document["gallery"]
    assert (gallery["level_key"], gallery["total"]) == ("0.8", 4)
    assert [row["instance"] for row in gallery["rows"]] == [8, 9]


def test_pie_gallery_names_the_levels_of_an_unknown_one(prunings: cl.Workspace) -> None:
    where = str(prunings.location)
    arguments = ("--baseline", "base", "--compressed", "op:prune.magnitude", "--by", "amount")
    message = fails("pie-gallery", *arguments, "--level", "0.7", "-w", where)
    assert "no level '0.7' of 'amount'; the levels are: 0.5, 0.8" in message


def test_calibrations_json_is_the_python_answer(prunings: cl.Workspace) -> None:
    out = succeeds("calibrations", "base", "p5", "p8", "-w", str(prunings.location), "--json")
    document = json.loads(out)
    assert document == prunings.calibration("base", ["p5", "p8"])
    assert [row["name"] for row in document["models"]] == ["p5", "p8"]


def test_select_json_gives_ids_and_shared_datasets(prunings: cl.Workspace) -> None:
    out = succeeds("select", "op:prune.magnitude", "-w", str(prunings.location), "--json")
    ids = [prunings.model(name).id for name in ("p5", "p8")]
    assert json.loads(out) == {"selector": "op:prune.magnitude", "ids": ids, "datasets": ["abc"]}


def test_outputs_json_is_the_python_page(prunings: cl.Workspace) -> None:
    where = str(prunings.location)
    out = succeeds(
        "outputs", "p8", "-d", "abc", "--offset", "2", "--limit", "3", "-w", where, "--json"
    )
    document = json.loads(out)
    assert document == prunings.output_table("p8", "abc").page(2, 3)
    assert [row["instance"] for row in document["rows"]] == [2, 3, 4]
    assert all(row["correct"] == (row["prediction"] == row["label"]) for row in document["rows"])


def test_outputs_print_a_header_and_one_line_per_row(prunings: cl.Workspace) -> None:
    out = succeeds("outputs", "p8", "-d", "abc", "--limit", "4", "-w", str(prunings.location))
    lines = out.splitlines()
    assert lines[0].startswith("p8 on abc: rows 0–3 of ")
    assert lines[1].split()[:4] == ["instance", "label", "prediction", "correct"]
    assert len(lines) == 2 + 4
