"""What the UI's views show, from Python: ws.behaviours and ws.differences."""

from __future__ import annotations

import pytest

import compresslens as cl
from compresslens.errors import NotFoundError
from compresslens.workspace.differences import (
    IMPORTED,
    NONE,
    Provenance,
    find_differences,
    value_label,
)


def test_behaviours_give_each_model_its_changes_against_the_base(prunings: cl.Workspace) -> None:
    answer = prunings.behaviours("base", ["p5", "p8"], n_boot=10)
    assert (answer["base"]["name"], answer["dataset"], answer["class_names"]) == (
        "base",
        "abc",
        ["a", "b", "c"],
    )
    p5, p8 = answer["models"]
    assert (p5["model"]["name"], p8["model"]["name"]) == ("p5", "p8")
    assert p5["summary"]["model_accuracy"] == pytest.approx(10 / 12)
    assert p8["summary"]["accuracy_change"] == pytest.approx(-5 / 12)
    assert p8["summary"]["flips"] == {
        "correct_to_incorrect": 5,
        "incorrect_to_correct": 0,
        "incorrect_to_other_incorrect": 0,
    }
    assert [(t["transition"], t["count"]) for t in p8["summary"]["top_transitions"]] == [
        ("c ▸ a", 4),
        ("a ▸ b", 1),
    ]
    assert [(r["class"], r["delta"]) for r in p5["per_class"]] == [
        ("a", 0.0),
        ("b", 0.0),
        ("c", -0.5),
    ]
    assert [(r["value"], r["accuracy"]) for r in p8["per_subgroup"]["half"]] == [
        ("x", 0.5),
        ("y", pytest.approx(4 / 6)),
    ]


def test_behaviours_take_a_comma_list_and_name_an_unknown_model(prunings: cl.Workspace) -> None:
    listed = prunings.behaviours("base", "p8,p5", "abc", n_boot=5)
    assert [r["model"]["name"] for r in listed["models"]] == ["p8", "p5"]
    with pytest.raises(NotFoundError, match="ghost"):
        prunings.behaviours("base", ["p5", "ghost"])


def test_differences_of_two_amounts_and_a_fine_tuning(prunings: cl.Workspace) -> None:
    ids = {m.name: m.id for m in prunings.models()}
    found = prunings.differences("p5,p8,p5-ft")
    assert found["ancestor"] == {"id": ids["base"], "name": "base"}
    assert found["slots"] == ["prune", "train"]
    pipeline, amount = found["variables"]
    assert [(lv["label"], lv["ids"]) for lv in pipeline["levels"]] == [
        ("prune.magnitude", [ids["p5"], ids["p8"]]),
        ("prune.magnitude → train.finetune", [ids["p5-ft"]]),
    ]
    assert pipeline["aliases"] == ["has train step (finetune)", "train operation", "train · epochs"]
    assert amount["label"] == "prune · amount"
    assert amount["value_of"] == {ids["p5"]: "0.5", ids["p8"]: "0.8", ids["p5-ft"]: "0.5"}
    assert found["shared"] == [
        {"label": "prune", "value": "prune.magnitude"},
        {"label": "prune · scope", "value": "global"},
        {"label": "prune · seed", "value": "0"},
    ]
    assert found["varying"] == {"prune": ["amount"], "train": []}


def test_differences_of_a_model_and_its_parent_start_after_the_parent(
    prunings: cl.Workspace,
) -> None:
    found = prunings.differences(["p5", "p5-ft"])
    assert found["ancestor"]["name"] == "p5"
    assert [len(chain) for chain in found["chains"].values()] == [0, 1]
    assert found["variables"][0]["label"] == "operation sequence"


def _model(
    id: str, op: str | None = None, parents: tuple[tuple[str, str], ...] = (), **params: object
) -> Provenance:
    return Provenance(id, f"{id}-name", op, params, parents, 0 if op else None)


MODELS = {
    m.id: m
    for m in (
        _model("s0", "train.scratch", lr=0.003),
        _model("s0p5", "prune.magnitude", (("s0", "input"),), amount=0.5),
        _model("s0kd", "train.distill", (("s0p5", "input"), ("s0", "teacher")), temperature=4),
        _model("s0ft", "train.finetune", (("s0p5", "input"),)),
        _model("imported"),
    )
}


def test_a_teacher_is_a_parameter_not_the_lineage() -> None:
    found = find_differences([MODELS["s0kd"], MODELS["s0ft"]], MODELS)
    assert found["ancestor"] == {"id": "s0p5", "name": "s0p5-name"}
    [sequence] = found["variables"]  # the operation, temperature and teacher split alike
    assert [lv["label"] for lv in sequence["levels"]] == ["train.distill", "train.finetune"]
    assert sequence["aliases"] == ["train operation", "train · temperature", "train · teacher"]
    assert found["shared"] == [{"label": "train · seed", "value": "0"}]
    assert found["chains"]["s0kd"][0]["teacher"] == "s0-name"


def test_an_imported_root_against_a_trained_one_differs_in_origin() -> None:
    found = find_differences([MODELS["imported"], MODELS["s0"]], MODELS)
    assert found["ancestor"] is None
    [sequence] = found["variables"]
    assert [lv["label"] for lv in sequence["levels"]] == [IMPORTED, "train.scratch"]
    assert sequence["aliases"] == [
        "origin operation",
        "origin · lr",
        "origin · seed",
        "origin model",
    ]


def test_one_model_or_a_repeat_has_nothing_that_differs() -> None:
    assert find_differences([MODELS["s0"], MODELS["s0"]], MODELS)["variables"] == []
    assert find_differences([], MODELS)["variables"] == []


def test_values_are_labelled_as_the_browser_writes_them() -> None:
    assert [value_label(v) for v in (1.0, 0.5, 1e-7, True, None, ["a", 1])] == [
        "1",
        "0.5",
        "1e-7",
        "true",
        "null",
        '["a",1]',
    ]
    assert value_label(None, missing=True) != NONE
