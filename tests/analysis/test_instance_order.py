"""Which rows a page of the per-instance table shows, and in what order."""

from __future__ import annotations

import numpy as np
import pytest

from compresslens.analysis.instance_order import instance_order
from compresslens.errors import IncompatibleDatasetError

TABLE = {
    "instance": np.arange(5),
    "label": np.array([0, 1, 0, 1, 0]),
    "flip": np.array(
        ["unchanged", "correct_to_incorrect", "incorrect_to_correct"] + ["unchanged"] * 2
    ),
    "margin_change": np.array([0.5, -2.0, np.nan, 1.0, -0.5]),
}


def test_by_magnitude_descending_puts_nan_last() -> None:
    assert instance_order(TABLE, sort="margin_change").tolist() == [1, 3, 0, 4, 2]


def test_by_value_ascending_puts_nan_last_too() -> None:
    order = instance_order(TABLE, sort="margin_change", descending=False, by_magnitude=False)
    assert order.tolist() == [1, 4, 0, 3, 2]


def test_changed_keeps_every_flip_kind_and_label_keeps_one_class() -> None:
    assert instance_order(TABLE, flip="changed", descending=False).tolist() == [1, 2]
    assert instance_order(TABLE, flip="unchanged", label=0).tolist() == [4, 0]


def test_a_missing_column_names_the_available_ones() -> None:
    with pytest.raises(IncompatibleDatasetError, match="available: flip, instance"):
        instance_order(TABLE, sort="kl")
