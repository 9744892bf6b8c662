"""Per-layer sensitivity rankings from hand-made scores: every row, drop and rank is known
exactly (scores are binary fractions, so the drops are exact)."""

from __future__ import annotations

import math

import pytest

from compresslens.analysis.sensitivity import (
    SensitivityError,
    check_layer_names,
    rank_layers,
    sensitivity_to_exclude_list,
    sensitivity_to_mixed_precision,
)


def test_rows_rank_the_largest_drop_first() -> None:
    rows = rank_layers(1.0, [("c", 1.0), ("a", 0.5), ("b", 0.875)])
    assert rows == [
        {"layer": "a", "baseline": 1.0, "score": 0.5, "drop": 0.5, "rank": 1},
        {"layer": "b", "baseline": 1.0, "score": 0.875, "drop": 0.125, "rank": 2},
        {"layer": "c", "baseline": 1.0, "score": 1.0, "drop": 0.0, "rank": 3},
    ]


def test_equal_drops_keep_the_given_order() -> None:
    rows = rank_layers(1.0, [("b", 0.75), ("c", 0.75), ("a", 0.75)])
    assert [(row["layer"], row["rank"]) for row in rows] == [("b", 1), ("c", 2), ("a", 3)]


def test_a_loss_counts_an_increase_as_a_drop() -> None:
    rows = rank_layers(0.5, [("a", 2.5), ("b", 0.25), ("c", 1.5)], higher_is_better=False)
    assert [(row["layer"], row["drop"]) for row in rows] == [("a", 2.0), ("c", 1.0), ("b", -0.25)]


def test_a_non_finite_score_is_an_infinite_drop() -> None:
    rows = rank_layers(1.0, [("a", 0.5), ("b", math.nan), ("c", -math.inf)])
    assert [(row["layer"], row["drop"]) for row in rows] == [
        ("b", math.inf),
        ("c", math.inf),
        ("a", 0.5),
    ]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([], "no layers given to measure"),
        (["a", "b", "a"], r"layers are listed more than once: \['a', 'b', 'a'\]"),
    ],
)
def test_no_layers_or_a_repeated_one_is_refused(layers: list[str], message: str) -> None:
    with pytest.raises(SensitivityError, match=message):
        check_layer_names(layers)


# rows as layer_sensitivity returns them, deliberately out of rank order
RANKING = [
    {"layer": "c", "drop": 0.0, "rank": 3},
    {"layer": "a", "drop": 0.5, "rank": 1},
    {"layer": "b", "drop": 0.125, "rank": 2},
]


def test_the_exclude_list_is_every_layer_above_the_max_drop_in_rank_order() -> None:
    assert sensitivity_to_exclude_list(RANKING, max_drop=0.0) == ["a", "b"]
    assert sensitivity_to_exclude_list(RANKING, max_drop=0.125) == ["a"]  # strictly above
    assert sensitivity_to_exclude_list(RANKING, max_drop=0.5) == []


@pytest.mark.parametrize(
    ("keep_share", "bits"),
    [
        (0.0, {"a": 4, "b": 4, "c": 4}),
        (0.3, {"a": 8, "b": 4, "c": 4}),  # ⌈0.9⌉ = 1 layer kept
        (0.5, {"a": 8, "b": 8, "c": 4}),  # ⌈1.5⌉ = 2 layers kept
        (1.0, {"a": 8, "b": 8, "c": 8}),
    ],
)
def test_mixed_precision_keeps_the_most_sensitive_share_at_high_bits(
    keep_share: float, bits: dict[str, int]
) -> None:
    assert sensitivity_to_mixed_precision(RANKING, keep_share) == bits
    assert list(sensitivity_to_mixed_precision(RANKING, keep_share)) == ["a", "b", "c"]


def test_mixed_precision_takes_any_two_widths_and_refuses_a_share_outside_zero_to_one() -> None:
    assert sensitivity_to_mixed_precision(RANKING, 0.5, high_bits=16, low_bits=8) == {
        "a": 16,
        "b": 16,
        "c": 8,
    }
    for share in (-0.1, 1.5):
        with pytest.raises(SensitivityError, match=r"keep_share must be within \[0, 1\]"):
            sensitivity_to_mixed_precision(RANKING, keep_share=share)
