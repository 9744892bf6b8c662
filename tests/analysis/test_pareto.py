"""The Pareto set: checked by brute force on random points, with ties and missing values."""

from __future__ import annotations

import numpy as np
import pytest

from compresslens.analysis.pareto import pareto_set


def brute_force_frontier(points: np.ndarray, maximize: list[bool]) -> set[int]:
    """Rows no other row beats: at least as good everywhere, strictly better somewhere."""
    signs = np.where(maximize, 1.0, -1.0)
    gains = points * signs
    frontier = set()
    for i, p in enumerate(gains):
        if not any(np.all(q >= p) and np.any(q > p) for j, q in enumerate(gains) if j != i):
            frontier.add(i)
    return frontier


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3])
def test_the_frontier_is_exactly_the_rows_no_other_row_dominates(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    # few distinct values per axis, so ties and exact duplicates occur
    points = rng.integers(0, 6, size=(120, k)).astype(float)
    maximize = list(rng.integers(0, 2, size=k).astype(bool))
    found = pareto_set(points, maximize)
    assert set(found.frontier.tolist()) == brute_force_frontier(points, maximize)
    assert sorted([*found.frontier, *found.dominated]) == list(range(120))
    assert found.excluded.size == 0


def test_the_frontier_holds_across_blocks_of_rows() -> None:
    rng = np.random.default_rng(7)
    points = rng.normal(size=(1100, 2))  # more rows than one comparison block
    found = pareto_set(points, [True, False])
    assert set(found.frontier.tolist()) == brute_force_frontier(points, [True, False])


def test_identical_points_on_the_front_all_stay() -> None:
    points = np.array([[1.0, 5.0], [1.0, 5.0], [2.0, 4.0], [3.0, 3.0]])
    found = pareto_set(points, [False, True])  # small and high: both copies of (1, 5) win
    assert found.frontier.tolist() == [0, 1]
    assert found.dominated.tolist() == [2, 3]


def test_a_point_missing_a_value_is_excluded_and_reported_not_ranked() -> None:
    points = np.array([[1.0, np.nan], [2.0, 1.0], [np.inf, 9.0], [3.0, 0.5]])
    found = pareto_set(points, [False, True])
    assert found.excluded.tolist() == [0, 2]
    assert found.frontier.tolist() == [1]
    assert found.dominated.tolist() == [3]


def test_directions_must_match_the_objectives() -> None:
    with pytest.raises(ValueError, match="2 directions for 3 objectives"):
        pareto_set(np.zeros((4, 3)), [True, False])
    with pytest.raises(ValueError, match="2-D"):
        pareto_set(np.zeros(4), [True])
