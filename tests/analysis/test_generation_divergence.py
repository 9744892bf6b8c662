"""First diverging token and shared prefix of two generations, on planted sequences."""

from __future__ import annotations

import pytest

from compresslens.analysis.generation_divergence import (
    first_divergence,
    generation_divergence,
    shared_prefix_length,
)
from compresslens.errors import InvalidInputError


def test_identical_generations_have_no_divergence_and_share_everything() -> None:
    assert first_divergence([4, 5, 6], [4, 5, 6]) is None
    assert shared_prefix_length([4, 5, 6], [4, 5, 6]) == 3


def test_generations_differing_at_the_first_token_diverge_at_zero() -> None:
    assert first_divergence([1, 5, 6], [2, 5, 6]) == 0
    assert shared_prefix_length([1, 5, 6], [2, 5, 6]) == 0


@pytest.mark.parametrize("k", [1, 2, 4])
def test_generations_differing_from_k_on_diverge_at_k(k: int) -> None:
    base = [7, 8, 9, 10, 11]
    model = base[:k] + [0] * (len(base) - k)
    assert first_divergence(base, model) == k
    assert shared_prefix_length(base, model) == k


def test_only_the_first_difference_counts() -> None:
    assert first_divergence([1, 2, 3, 4], [1, 9, 3, 9]) == 1


def test_a_generation_that_is_a_prefix_of_the_other_parts_where_it_ends() -> None:
    assert first_divergence([1, 2], [1, 2, 3]) == 2


def test_summary_counts_identical_prompts_and_averages_divergences() -> None:
    base = [[1, 2, 3, 4], [1, 2, 3, 4], [5, 6, 7, 8], [9, 9, 9, 9]]
    model = [[1, 2, 3, 4], [1, 2, 0, 0], [0, 6, 7, 8], [9, 9, 9, 9]]
    divergence = generation_divergence(base, model)
    assert divergence.first == [None, 2, 0, None]
    assert divergence.shared_prefix == [4, 2, 0, 4]
    assert divergence.summary() == {
        "prompts": 4,
        "identical": 2,
        "share_identical": 0.5,
        "mean_shared_prefix": 2.5,
        "mean_first_divergence": 1.0,
    }


def test_summary_of_identical_generations_has_no_mean_divergence() -> None:
    summary = generation_divergence([[1, 2]], [[1, 2]]).summary()
    assert summary["share_identical"] == 1.0
    assert summary["mean_first_divergence"] is None


def test_a_different_number_of_generations_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="2 base generations but 1"):
        generation_divergence([[1], [2]], [[1]])
