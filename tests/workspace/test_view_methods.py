"""One Workspace call per view, on hand-made workspaces with known answers: the PIE view's
levels and gallery, calibration over many models, the paged instance and outputs tables,
transitions and agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

import compresslens as cl
from compresslens.errors import InvalidChoiceError

# logits are one-hot rows, so every prediction has confidence softmax([1, 0, 0])[0]
CONFIDENCE = math.e / (math.e + 2)


def test_pies_view_gives_each_amount_and_pages_the_most_compressed(
    prunings: cl.Workspace,
) -> None:
    with pytest.warns(cl.PopulationSizeWarning):  # populations of one model each
        view = prunings.pies_view("base", "op:prune.magnitude", by="amount")
    assert (view["by"], view["dataset"], view["baseline"]) == ("amount", "abc", ["base"])
    assert view["class_names"] == ["a", "b", "c"]
    assert [(lv["level"], lv["key"], lv["compressed"]) for lv in view["levels"]] == [
        ({"amount": 0.5}, "0.5", ["p5"]),
        ({"amount": 0.8}, "0.8", ["p8"]),
    ]
    assert [lv["summary"]["pie_count"] for lv in view["levels"]] == [2, 5]
    assert all("pies" not in lv for lv in view["levels"])
    gallery = view["gallery"]
    assert (gallery["level"], gallery["level_key"], gallery["total"]) == (0.8, "0.8", 5)
    assert [row["instance"] for row in gallery["rows"]] == [0, 8, 9, 10, 11]
    assert gallery["rows"][0] == {
        "instance": 0,
        "label": "a",
        "baseline_modal": "a",
        "compressed_modal": "b",
        "baseline_vote": 1.0,
        "compressed_vote": 1.0,
    }


def test_pies_view_filters_sorts_and_pages_one_level(prunings: cl.Workspace) -> None:
    with pytest.warns(cl.PopulationSizeWarning):
        first = prunings.pies_view("base", "op:prune.magnitude", by="amount", level="0.50")
    assert first["gallery"]["level"] == 0.5  # a number is named by value
    assert [row["instance"] for row in first["gallery"]["rows"]] == [8, 9]
    page = prunings.pies_view(
        "base", "op:prune.magnitude", by="amount", label="c", descending=True, offset=1, limit=2
    )
    gallery = page["gallery"]
    assert (gallery["label"], gallery["total"], gallery["offset"], gallery["limit"]) == (
        "c",
        4,
        1,
        2,
    )
    assert [row["instance"] for row in gallery["rows"]] == [10, 9]


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"level": "0.7"}, "no level '0.7' of 'amount'; the levels are: 0.5, 0.8"),
        ({"label": "d"}, "no class 'd'; the classes are: a, b, c"),
        ({"sort": "loss"}, "no gallery sort 'loss'"),
    ],
)
def test_pies_view_names_what_it_offers_for_an_unknown_choice(
    prunings: cl.Workspace, choice: dict[str, str], message: str
) -> None:
    with pytest.warns(cl.PopulationSizeWarning), pytest.raises(InvalidChoiceError, match=message):
        prunings.pies_view("base", "op:prune.magnitude", by="amount", **choice)


def test_pies_view_without_by_has_one_level_and_refuses_a_level(prunings: cl.Workspace) -> None:
    with pytest.warns(cl.PopulationSizeWarning):
        view = prunings.pies_view("base", "p8")
    assert [lv["key"] for lv in view["levels"]] == [""]
    assert (view["gallery"]["level"], view["gallery"]["total"]) == (None, 5)
    with pytest.raises(InvalidChoiceError, match="none \\(no `by` given\\)"):
        prunings.pies_view("base", "p8", level="0.8")


def test_calibration_of_many_models_against_a_base(prunings: cl.Workspace) -> None:
    answer = prunings.calibration("base", ["p5", "p8"])
    assert answer["dataset"] == "abc"
    assert (answer["base"]["name"], [m["name"] for m in answer["models"]]) == ("base", ["p5", "p8"])
    assert answer["base"]["ece"] == pytest.approx(1 - CONFIDENCE, abs=1e-6)  # float32
    assert [m["ece"] for m in answer["models"]] == pytest.approx(
        [10 / 12 - CONFIDENCE, 7 / 12 - CONFIDENCE], abs=1e-6
    )
    assert sum(answer["base"]["reliability"]["count"]) == 12
    assert answer == prunings.calibration("base", "p5,p8")  # a comma list alike


def test_instances_keep_one_flip_kind_in_the_chosen_order(one_class_lost: cl.Workspace) -> None:
    table = one_class_lost.instances("base", "lossy", flip="correct_to_incorrect", descending=False)
    assert table.total == 30
    assert table.columns["instance"].tolist() == list(range(80, 110))
    assert set(table.columns["flip"].tolist()) == {"correct_to_incorrect"}
    page = table.page(offset=28, limit=5, sort="instance")
    assert (page["base"], page["model"], page["dataset"], page["total"]) == (
        "base",
        "lossy",
        "abc",
        30,
    )
    assert [row["instance"] for row in page["rows"]] == [108, 109]
    assert page["columns"][:2] == ["instance", "label"] and page["sort"] == "instance"
    unchanged = one_class_lost.instances("base", "lossy", flip="unchanged", label=2)
    assert unchanged.columns["instance"].tolist() == list(range(119, 109, -1))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"flip": "lost"}, "no flip filter 'lost'"), ({"sort": "loss"}, "no sort key 'loss'")],
)
def test_instances_refuse_an_unknown_filter_or_sort(
    one_class_lost: cl.Workspace, options: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidChoiceError, match=message):
        one_class_lost.instances("base", "lossy", **options)


def test_output_table_places_correct_after_label_and_prediction(
    one_class_lost: cl.Workspace,
) -> None:
    table = one_class_lost.output_table("lossy", "abc")
    assert list(table.columns)[:4] == ["instance", "label", "prediction", "correct"]
    correct = table.columns["correct"]
    assert correct.dtype == np.bool_ and int(correct.sum()) == 90
    assert not correct[80:110].any()
    assert table.context == {
        "model": "lossy",
        "model_id": one_class_lost.model("lossy").id,
        "dataset": "abc",
        "class_names": ["a", "b", "c"],
        "total": 120,
    }
    page = table.page(offset=79, limit=2)
    assert [(r["instance"], r["prediction"], r["correct"]) for r in page["rows"]] == [
        (79, 1, True),
        (80, 0, False),
    ]


def test_transitions_count_base_against_model_predictions(one_class_lost: cl.Workspace) -> None:
    answer = one_class_lost.transitions("base", "lossy")
    assert answer["matrix"] == [[40, 0, 0], [0, 40, 0], [30, 0, 10]]
    assert (answer["base"]["name"], answer["model"]["name"]) == ("base", "lossy")


def test_agreement_counts_equal_predictions_pairwise(prunings: cl.Workspace) -> None:
    answer = prunings.agreement("base,p5,p8")
    assert (answer["dataset"], answer["models"]) == ("abc", ["base", "p5", "p8"])
    np.testing.assert_allclose(
        answer["matrix"], [[1, 10 / 12, 7 / 12], [10 / 12, 1, 9 / 12], [7 / 12, 9 / 12, 1]]
    )
    models = [prunings.model(name) for name in ("base", "p5", "p8")]
    assert prunings.agreement(models) == answer  # records or a selector alike
