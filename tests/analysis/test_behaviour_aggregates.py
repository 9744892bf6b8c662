"""Aggregates over many models at once, equal bit for bit to the per-model functions:
equality_agreement to pairwise_agreement, reliability_batch to expected_calibration_error
and reliability_bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compresslens.analysis import behaviour_aggregates
from compresslens.analysis.behaviour_aggregates import (
    equality_agreement,
    reliability_batch,
    reliability_dicts,
)
from compresslens.analysis.predictions import pairwise_agreement
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import bin_index, expected_calibration_error, reliability_bins
from compresslens.jsonable import jsonable


def stack(seed: int, models: int, instances: int, classes: int = 4) -> dict[str, np.ndarray]:
    """float32 confidences (as evaluate stores them), some exactly on bin edges, 0 and 1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, instances)
    preds = np.where(rng.random((models, instances)) < 0.7, labels, rng.integers(0, classes, 1))
    conf = rng.random((models, instances)).astype(np.float32)
    edges = np.linspace(0.0, 1.0, 16).astype(np.float32)
    conf[:, ::7] = edges[rng.integers(0, 16, conf[:, ::7].shape)]
    return {"labels": labels, "preds": preds.astype(np.int8), "conf": conf}


def expected(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> tuple[float, dict]:
    return expected_calibration_error(conf, correct, n_bins), reliability_bins(
        conf, correct, n_bins
    )


@pytest.mark.parametrize(
    ("seed", "models", "instances", "n_bins"), [(0, 5, 700, 15), (1, 3, 50, 7)]
)
def test_each_model_equals_the_per_model_metrics_exactly(seed, models, instances, n_bins) -> None:
    data = stack(seed, models, instances)
    batch = reliability_batch(data["conf"], data["preds"], data["labels"], n_bins)
    curves = reliability_dicts(batch)
    assert batch["count"].shape == (models, n_bins) and len(curves) == models
    for m in range(models):
        ece, bins = expected(data["conf"][m], data["preds"][m] == data["labels"], n_bins)
        assert batch["ece"][m] == ece  # exact, not approx
        assert jsonable(curves[m]) == jsonable(bins)


def test_small_blocks_give_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    data = stack(2, 7, 300)
    whole = reliability_batch(data["conf"], data["preds"], data["labels"])
    monkeypatch.setattr(behaviour_aggregates, "BLOCK_ELEMENTS", 500)  # one model per block
    blocked = reliability_batch(data["conf"], data["preds"], data["labels"])
    assert jsonable(blocked) == jsonable(whole)


def test_labels_per_model_equal_shared_labels() -> None:
    data = stack(3, 4, 200)
    shared = reliability_batch(data["conf"], data["preds"], data["labels"])
    per_model = np.broadcast_to(data["labels"], data["preds"].shape)
    assert jsonable(reliability_batch(data["conf"], data["preds"], per_model)) == jsonable(shared)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_bin_index_equals_a_binary_search_on_the_edges(dtype) -> None:
    rng = np.random.default_rng(5)
    for n_bins in (1, 2, 3, 7, 10, 15, 100, 300):
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        near = edges[rng.integers(0, n_bins + 1, 5000)].astype(dtype)
        values = np.concatenate(
            [
                rng.random(5000).astype(dtype),
                near,
                np.nextafter(near, dtype(2.0)).clip(0, 1),
                np.nextafter(near, dtype(-1.0)).clip(0, 1),
                np.array([0.0, 1.0], dtype),
            ]
        )
        got = behaviour_aggregates._bin_index(values[None, :], edges)[0]
        np.testing.assert_array_equal(got, bin_index(values.astype(np.float64), edges))


def test_one_model_keeps_the_model_axis_and_no_instances_is_nan() -> None:
    data = stack(6, 1, 40)
    one = reliability_batch(data["conf"][0], data["preds"][0], data["labels"])
    assert one["count"].shape == (1, 15) and one["ece"].shape == (1,)
    empty = reliability_batch(np.zeros((2, 0), np.float32), np.zeros((2, 0), int), np.zeros(0, int))
    assert all(math.isnan(e) for e in empty["ece"]) and empty["count"].sum() == 0
    assert jsonable(reliability_dicts(empty)[0]) == jsonable(
        reliability_bins(np.zeros(0), np.zeros(0, bool))
    )


def test_bad_inputs_are_refused_with_their_name() -> None:
    data = stack(7, 2, 30)
    conf, preds, labels = data["conf"], data["preds"], data["labels"]
    bad = conf.copy()
    bad[1, 3] = np.nan
    with pytest.raises(InvalidOutputError, match=r"confidence must lie in \[0, 1\]"):
        reliability_batch(bad, preds, labels)
    with pytest.raises(InvalidOutputError, match="confidence as floats"):
        reliability_batch(preds, preds, labels)
    with pytest.raises(InvalidOutputError, match="prediction has 1 models"):
        reliability_batch(conf, preds[:1], labels)
    with pytest.raises(InvalidOutputError, match="prediction covers 29 instances"):
        reliability_batch(conf, preds[:, :29], labels)
    with pytest.raises(IncompatibleDatasetError, match="labels must hold integer ids"):
        reliability_batch(conf, preds, labels.astype(float))
    with pytest.raises(ValueError, match="n_bins"):
        reliability_batch(conf, preds, labels, n_bins=0)


# ------------------------------------------------------------------------- agreement


def random_predictions(seed: int, models: int, instances: int, classes: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, classes, instances)
    noisy = rng.random((models, instances)) < rng.random((models, 1))
    preds = np.where(noisy, rng.integers(0, classes, (models, instances)), reference)
    preds[: models // 2 : 2] = preds[0]  # a camp of identical models
    return preds


@pytest.mark.parametrize(
    ("seed", "models", "instances", "classes"),
    [(0, 6, 500, 4), (1, 17, 301, 10), (2, 2, 40, 300), (3, 1, 10, 3)],
)
def test_equality_agreement_equals_pairwise_agreement(seed, models, instances, classes) -> None:
    preds = random_predictions(seed, models, instances, classes)
    wanted = pairwise_agreement(preds)
    np.testing.assert_array_equal(equality_agreement(preds), wanted)
    np.testing.assert_array_equal(
        equality_agreement(preds.astype(np.int8 if classes < 128 else np.int16)), wanted
    )


def test_equality_agreement_in_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    preds = random_predictions(4, 9, 250, 5)
    monkeypatch.setattr(behaviour_aggregates, "BLOCK_ELEMENTS", 40)  # a few instances a block
    np.testing.assert_array_equal(equality_agreement(preds), pairwise_agreement(preds))


def test_equality_agreement_of_one_model_and_of_no_instances() -> None:
    assert equality_agreement(np.array([2, 0, 1])).tolist() == [[1.0]]
    assert equality_agreement(np.zeros((3, 0), int)).shape == (3, 3)
    assert np.isnan(equality_agreement(np.zeros((3, 0), int))).all()
    with pytest.raises(InvalidOutputError, match="preds_all must hold integer ids"):
        equality_agreement(np.zeros((2, 3)))
