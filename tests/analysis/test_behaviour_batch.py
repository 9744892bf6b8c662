"""behaviour_batch: one base against many models, equal to the per-model functions."""

from __future__ import annotations

import numpy as np
import pytest

from compresslens.analysis.behaviour_batch import (
    Grouping,
    batch_rows,
    behaviour_batch,
    grouping_of,
    top_transitions_per_model,
)
from compresslens.analysis.predictions import (
    flip_counts,
    per_group_accuracy_change,
    top_transitions,
    transition_matrix,
)
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError


@pytest.fixture
def stack() -> dict[str, np.ndarray]:
    """600 instances, 4 classes, a base right on ~70%, 5 models changing 5–30% of it."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 600)
    base = np.where(rng.random(600) < 0.7, labels, rng.integers(0, 4, 600))
    rate = np.array([[0.05], [0.1], [0.2], [0.3], [0.0]])
    preds = np.where(rng.random((5, 600)) < rate, rng.integers(0, 4, (5, 600)), base)
    return {"labels": labels, "base": base, "preds": preds, "size": rng.integers(0, 3, 600)}


def test_per_class_and_subgroups_equal_per_group_accuracy_change_draw_for_draw(stack) -> None:
    labels, base, preds = stack["labels"], stack["base"], stack["preds"]
    size = Grouping(stack["size"], ["s", "m", "l"])
    batch = behaviour_batch(labels, base, preds, 4, {"size": size}, n_boot=80, seed=5)
    correct = preds == labels
    wanted = {
        "per_class": per_group_accuracy_change(labels, base == labels, correct, n_boot=80, seed=5),
        "size": per_group_accuracy_change(
            labels, base == labels, correct, stack["size"], 3, n_boot=80, seed=5
        ),
    }
    for key, got in (("per_class", batch["per_class"]), ("size", batch["per_subgroup"]["size"])):
        for field, value in wanted[key].items():
            np.testing.assert_array_equal(got[field], value, err_msg=f"{key}.{field}")


def test_summary_counts_match_flips_accuracy_and_agreement(stack) -> None:
    labels, base, preds = stack["labels"], stack["base"], stack["preds"]
    batch = behaviour_batch(labels, base, preds, 4, n_boot=10)
    for kind, counts in flip_counts(labels, base, preds).items():
        np.testing.assert_array_equal(batch["flips"][kind], counts)
    np.testing.assert_array_equal(batch["accuracy"], (preds == labels).mean(axis=1))
    assert batch["base_accuracy"] == (base == labels).mean()
    np.testing.assert_array_equal(batch["agreement"], (preds == base).mean(axis=1))
    assert batch["agreement"][4] == 1.0 and batch["flips"]["correct_to_incorrect"][4] == 0


def test_top_transitions_equal_the_dense_matrix_ranking(stack) -> None:
    labels, base, preds = stack["labels"], stack["base"], stack["preds"]
    batch = behaviour_batch(labels, base, preds, 4, n_boot=10, top_k=3)
    for m in range(5):
        wanted = top_transitions(transition_matrix(base, preds[m], 4), k=3)
        got = [(t["from_class"], t["to_class"], t["count"]) for t in wanted]
        assert batch["top_transitions"][m] == got
    assert batch["top_transitions"][4] == []  # a model that changes nothing


def test_sparse_top_transitions_break_count_ties_by_class_pair() -> None:
    # model 0: 0▸1 twice, 2▸0 twice, 1▸2 once; model 1: nothing
    codes = np.array([0 * 16 + 0 * 4 + 1, 0 * 16 + 2 * 4 + 0, 0 * 16 + 1 * 4 + 2])
    counts = np.array([2, 2, 1])
    assert top_transitions_per_model(codes, counts, 2, 4, k=2) == [[(0, 1, 2), (2, 0, 2)], []]


def test_grouping_sorts_levels_as_text() -> None:
    grouping = grouping_of(np.array(["dark", "bright", "dark"]))
    assert grouping.levels == ["bright", "dark"]
    assert grouping.codes.tolist() == [1, 0, 1]


def test_rows_have_the_comparison_shape_with_nan_as_none() -> None:
    labels = np.array([0, 0, 1, 1])
    base = np.array([0, 0, 1, 0])
    preds = np.array([[0, 1, 1, 1]])
    # class 2 has no instances: NaN accuracy, shown as None
    batch = behaviour_batch(labels, base, preds, 3, n_boot=20)
    [record] = batch_rows(
        batch, [{"id": "m", "name": "M"}], {"id": "b", "name": "B"}, "d", list("abc")
    )
    assert record["model"] == {"id": "m", "name": "M"}
    summary = record["summary"]
    assert summary["base_accuracy"] == 0.75 and summary["model_accuracy"] == 0.75
    assert summary["flips"] == {
        "correct_to_incorrect": 1,
        "incorrect_to_correct": 1,
        "incorrect_to_other_incorrect": 0,
    }
    assert summary["top_transitions"] == [
        {"transition": "a ▸ b", "from_class": 0, "to_class": 1, "count": 2, "share": 1.0}
    ]
    assert [row["class"] for row in record["per_class"]] == ["a", "b", "c"]
    assert record["per_class"][0]["delta"] == -0.5 and record["per_class"][1]["delta"] == 0.5
    assert record["per_class"][2]["base_accuracy"] is None
    assert record["per_class"][2]["excess"] is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"preds": np.array([[0, 5, 1, 1]])}, InvalidOutputError),
        ({"preds": np.array([[0, 1, 1]])}, InvalidOutputError),
        ({"n_boot": 0}, ValueError),
        ({"subgroups": {"g": Grouping(np.array([0, 1]), ["x", "y"])}}, InvalidOutputError),
        (
            {"subgroups": {"g": Grouping(np.array([0, 1, 2, 0]), ["x", "y"])}},
            IncompatibleDatasetError,
        ),
    ],
)
def test_bad_inputs_are_refused_with_a_named_error(kwargs, error) -> None:
    args = {"labels": np.array([0, 0, 1, 1]), "base_pred": np.array([0, 0, 1, 0])}
    args["preds"] = np.array([[0, 1, 1, 1]])
    args.update(kwargs)
    with pytest.raises(error):
        behaviour_batch(num_classes=3, **args)
