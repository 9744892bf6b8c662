"""Activation comparison: CKA against a written-out estimator, SQNR, cosine, histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from compresslens.analysis.activations import (
    ActivationError,
    activation_histograms,
    compare_activations,
    cosine_similarity_mean,
    first_divergent_layer,
    is_identical,
    linear_cka,
    linear_cka_full,
    relative_l2_error,
    sqnr_db,
)


def _brute_hsic(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased HSIC from U-centred Gram matrices, element by element (Székely & Rizzo)."""
    n = len(x)

    def u_centred(k: np.ndarray) -> np.ndarray:
        out = np.zeros_like(k)
        for i in range(n):
            for j in range(n):
                if i != j:
                    out[i, j] = (
                        k[i, j]
                        - (k[i].sum() - k[i, i]) / (n - 2)
                        - (k[:, j].sum() - k[j, j]) / (n - 2)
                        + (k.sum() - np.trace(k)) / ((n - 1) * (n - 2))
                    )
        return out

    kx, ky = u_centred(x @ x.T), u_centred(y @ y.T)
    return float(np.sum(kx * ky) / (n * (n - 3)))


def _brute_cka(x: np.ndarray, y: np.ndarray) -> float:
    return _brute_hsic(x, y) / math.sqrt(_brute_hsic(x, x) * _brute_hsic(y, y))


@pytest.fixture
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 5))
    y = x @ rng.normal(size=(5, 7)) + 0.5 * rng.normal(size=(24, 7))
    return x, y


def test_full_batch_cka_matches_the_u_centred_brute_force(xy) -> None:
    x, y = xy
    assert linear_cka_full(x, y) == pytest.approx(_brute_cka(x, y), rel=1e-10)


def test_minibatch_cka_averages_hsic_estimates_over_batches(xy) -> None:
    x, y = xy
    halves = (slice(0, 12), slice(12, 24))
    xy_mean = np.mean([_brute_hsic(x[h], y[h]) for h in halves])
    xx_mean = np.mean([_brute_hsic(x[h], x[h]) for h in halves])
    yy_mean = np.mean([_brute_hsic(y[h], y[h]) for h in halves])
    expected = xy_mean / math.sqrt(xx_mean * yy_mean)

    assert linear_cka(x, y, batch_size=12, seed=None) == pytest.approx(expected, rel=1e-10)


def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling(xy) -> None:
    x, y = xy
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(7, 7)))
    reference = linear_cka(x, y, batch_size=8)
    assert linear_cka(x, 3.0 * y @ q, batch_size=8) == pytest.approx(reference, rel=1e-9)
    assert linear_cka(x, y, batch_size=8) == pytest.approx(linear_cka(y, x, batch_size=8))


def test_cka_compares_different_widths() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 6))
    padded = np.hstack([x, np.zeros((64, 3))])  # channels removed by structured pruning
    noise = rng.normal(size=(64, 4))

    assert linear_cka(x, padded, batch_size=32) == pytest.approx(1.0)
    assert abs(linear_cka(x, noise, batch_size=32)) < 0.2
    assert linear_cka(torch.ones(8, 3), torch.randn(8, 2)) == 0.0
    assert math.isnan(linear_cka(torch.ones(8, 3), torch.ones(8, 2)))
    with pytest.raises(ActivationError):
        linear_cka(x, x[:10])


def test_same_shape_metrics_of_a_known_perturbation() -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    y = np.array([[3.0, 4.5], [0.0, 0.0]])

    assert sqnr_db(x, y) == pytest.approx(20.0)
    assert relative_l2_error(x, y) == pytest.approx(0.5 / 5.0)
    cos = (3 * 3 + 4 * 4.5) / (5 * math.hypot(3, 4.5))
    assert cosine_similarity_mean(x, y) == pytest.approx((cos + 1.0) / 2)  # zero rows agree
    assert sqnr_db(x, x) == math.inf
    with pytest.raises(ActivationError):
        sqnr_db(x, y[:, :1])


def test_different_widths_get_cka_but_no_same_shape_metrics() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 8))
    result = compare_activations({"conv": x}, {"conv": x[:, :5]}, batch_size=20)
    row = result["modules"][0]
    assert row["same_shape"] is False and row["cosine"] is None and row["sqnr_db"] is None
    assert 0 < row["cka"] < 1


def test_an_unchanged_layer_is_identical_and_never_diverges() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 6))
    y = x.copy()
    y[:, 0] += 0.5
    result = compare_activations(
        {"same": x, "changed": x}, {"same": x, "changed": y}, batch_size=20
    )
    same, changed = result["modules"]
    assert same["identical"] is True and same["sqnr_db"] == math.inf
    assert changed["identical"] is False and math.isfinite(changed["sqnr_db"])
    assert first_divergent_layer(result["modules"], 1e9, "sqnr_db") == "changed"
    # stored as JSON, infinity is null: the flag still says identical, and null is not below
    stored = [{**same, "sqnr_db": None}, changed]
    assert is_identical(stored[0]) and first_divergent_layer(stored, 1e9, "sqnr_db") == "changed"


def test_first_divergent_layer_reads_the_metric_asked_for() -> None:
    rows = [
        {"module": "a", "cka": 0.999, "cosine": 0.5, "sqnr_db": 40.0},
        {"module": "b", "cka": 0.5, "cosine": None, "sqnr_db": None},  # other shapes
    ]
    assert first_divergent_layer(rows, 0.9) == "b"
    assert first_divergent_layer(rows, 0.9, "cosine") == "a"
    assert first_divergent_layer(rows, 30, "sqnr_db") is None
    assert first_divergent_layer(rows, 50, "sqnr_db") == "a"
    with pytest.raises(ActivationError, match="unknown divergence metric"):
        first_divergent_layer(rows, 0.9, "rel_l2")


def test_activation_histograms_share_edges() -> None:
    models = {"base": {"relu": torch.tensor([[0.0, 2.0]])}, "int8": {"relu": torch.tensor([[4.0]])}}
    hist = activation_histograms(models, "relu", bins=2)
    assert hist["edges"] == [0.0, 2.0, 4.0]
    assert hist["counts"] == {"base": [1, 1], "int8": [0, 1]}


def test_float32_activations_keep_their_cka_precision() -> None:
    rng = np.random.default_rng(4)
    x = np.abs(rng.normal(size=(64, 300))) + 50.0  # a large mean, as after a ReLU
    y = x + rng.normal(size=x.shape)
    x32, y32 = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    assert linear_cka(x32, y32, batch_size=32) == pytest.approx(linear_cka(x, y, 32), rel=1e-5)
