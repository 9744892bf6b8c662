"""Output divergence: the fast float32 torch pass against a plain float64 reference, on
hand-made logits (ties, −inf, very large values) and random ones, in small blocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr, softmax

from compresslens.analysis import divergence
from compresslens.analysis.divergence import output_divergence
from compresslens.errors import InvalidOutputError


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few dozen logits, so every chunked path runs over many blocks."""
    monkeypatch.setattr(divergence, "BLOCK_ELEMENTS", 48)


def reference(base: np.ndarray, models: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The four measures written plainly in float64 with scipy (0·log 0 = 0; q = 0 < p: inf)."""
    base, models = base.astype(np.float64), models.astype(np.float64)
    p, q = softmax(base, axis=-1)[None], softmax(models, axis=-1)
    mix = (p + q) / 2.0
    rows = np.arange(labels.size)
    ranked_p, ranked_q = np.sort(base, axis=-1), np.sort(models, axis=-1)
    if base.shape[-1] < 2:  # one class: margin 0, as in the stored outputs
        margin_change = np.zeros(q.shape[:-1])
    else:
        margin_change = (ranked_q[..., -1] - ranked_q[..., -2]) - (
            ranked_p[..., -1] - ranked_p[..., -2]
        )
    return {
        "kl": rel_entr(p, q).sum(axis=-1),
        "js": 0.5 * rel_entr(p, mix).sum(axis=-1) + 0.5 * rel_entr(q, mix).sum(axis=-1),
        "abs_true_prob_change": np.abs(q[:, rows, labels] - p[:, rows, labels]),
        "margin_change": margin_change,
    }


def assert_matches_reference(
    result: dict[str, np.ndarray], base: np.ndarray, models: np.ndarray, labels: np.ndarray
) -> None:
    expected = reference(base, models, labels)
    for measure, values in result.items():
        assert values.dtype == np.float32 and values.shape == expected[measure].shape
        tolerance = 1e-4 if measure == "margin_change" else 2e-6
        np.testing.assert_allclose(values, expected[measure], atol=tolerance, err_msg=measure)


@pytest.fixture
def logits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    base = rng.normal(size=(30, 6)) * 3
    models = base[None] + rng.normal(size=(3, 30, 6))
    models[0, 4] = base[4] + 100.0  # the same distribution: zero divergence
    return base, models, rng.integers(0, 6, 30)


def test_output_divergence_matches_scipy(
    logits: tuple[np.ndarray, np.ndarray, np.ndarray], small_blocks: None
) -> None:
    base, models, labels = logits
    result = output_divergence(base.astype(np.float32), models.astype(np.float32), labels)
    assert_matches_reference(result, base, models, labels)
    assert result["kl"][0, 4] == pytest.approx(0.0, abs=1e-6)
    with np.errstate(invalid="ignore"):
        distance = [
            [jensenshannon(softmax(base[n]), softmax(models[m, n])) for n in range(30)]
            for m in range(3)
        ]
    js = np.nan_to_num(np.array(distance)) ** 2  # scipy: NaN (√ of −0.0) for equal rows
    np.testing.assert_allclose(result["js"], js, atol=2e-6)


@pytest.mark.parametrize("classes", [1, 2, 7, 100])
def test_random_float16_logits_match_the_float64_reference(
    classes: int, small_blocks: None
) -> None:
    rng = np.random.default_rng(classes)
    base = (rng.normal(size=(40, classes)) * 4).astype(np.float16)
    models = (base[None] + rng.normal(size=(5, 40, classes))).astype(np.float16)
    labels = rng.integers(0, classes, 40)
    result = output_divergence(base, models, labels)
    assert_matches_reference(result, base, models, labels)


def test_output_divergence_of_one_float16_model_and_a_subset_of_measures(
    logits: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    base, models, labels = logits
    half = output_divergence(
        base.astype(np.float16), models[1].astype(np.float16), labels, measures=["kl"]
    )
    full = output_divergence(base.astype(np.float16), models.astype(np.float16), labels)
    assert list(half) == ["kl"] and half["kl"].shape == (1, 30)
    np.testing.assert_allclose(half["kl"][0], full["kl"][1], rtol=1e-6)


def test_tied_logits_have_zero_margin_and_equal_distributions_zero_divergence() -> None:
    base = np.array([[2.0, 2.0, 0.0], [3.0, 1.0, 0.0], [5.0, 5.0, 5.0]], dtype=np.float32)
    result = output_divergence(base, base, np.array([0, 1, 2]))
    np.testing.assert_array_equal(result["margin_change"], [[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(result["kl"], 0.0, atol=1e-6)
    np.testing.assert_allclose(result["js"], 0.0, atol=1e-6)
    one_class = np.zeros((2, 1), dtype=np.float32)
    assert not output_divergence(one_class, one_class, np.array([0, 0]))["margin_change"].any()


def test_very_large_logits_are_shifted_not_overflowed() -> None:
    base = np.array([[1e30, 1e30 - 2e24, 0.0], [60000.0, 59990.0, -60000.0]], dtype=np.float32)
    models = (base + np.array([[0.0], [30.0]], dtype=np.float32))[None]  # same distributions
    shifted_half = np.array([[[65000.0, 64990.0, 0.0], [10.0, 0.0, -5.0]]], dtype=np.float16)
    result = output_divergence(base, models, np.array([0, 1]))
    np.testing.assert_allclose(result["kl"], 0.0, atol=1e-6)
    np.testing.assert_allclose(result["abs_true_prob_change"], 0.0, atol=1e-6)
    half = output_divergence(shifted_half[0], shifted_half, np.array([0, 1]))
    np.testing.assert_allclose(half["kl"], 0.0, atol=1e-6)


def test_minus_infinity_is_a_class_of_probability_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(divergence, "BLOCK_ELEMENTS", 3)  # one instance a block, one cell a chunk
    inf = np.inf
    base = np.array([[0.0, 1.0, -inf], [2.0, -inf, 0.5], [0.0, 0.0, 0.0]], dtype=np.float32)
    models = np.array(
        [
            [[0.5, 1.0, -inf], [1.0, 0.0, 0.5], [1.0, -inf, -inf]],  # last row: see below
            [[0.0, 1.0, 3.0], [2.0, -inf, 0.5], [0.0, 0.0, 0.0]],
        ],
        dtype=np.float32,
    )
    labels = np.array([1, 0, 0])
    with pytest.raises(InvalidOutputError, match=r"kl is undefined or infinite for 1 .*first: 2"):
        output_divergence(base, models, labels, measures=["kl"])  # model 0 rules out classes
    result = output_divergence(base, models[1:], labels, measures=["kl", "js"])
    assert_matches_reference(result, base, models[1:], labels)
    assert result["kl"][0, 1] == 0.0  # the same distribution, −inf in both: 0·log 0 = 0
    js = output_divergence(base, models, labels, measures=["js", "abs_true_prob_change"])
    assert_matches_reference(js, base, models, labels)  # JS stays finite: m > 0 where p > 0


def test_output_divergence_refuses_nan_logits_and_mismatched_shapes() -> None:
    base = np.zeros((3, 2), dtype=np.float32)
    bad = base.copy()
    bad[2, 0] = np.nan
    with pytest.raises(InvalidOutputError, match=r"first: 2.*NaN or infinite values"):
        output_divergence(base, bad, np.array([0, 1, 0]), measures=["kl"])
    plus_inf = base.copy()
    plus_inf[1, 1] = np.inf
    with pytest.raises(InvalidOutputError, match=r"js is undefined .*first: 1"):
        output_divergence(plus_inf, base, np.array([0, 1, 0]), measures=["js"])
    with pytest.raises(InvalidOutputError, match="do not match"):
        output_divergence(base, np.zeros((1, 3, 4), dtype=np.float32), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="unknown measures"):
        output_divergence(base, base, np.array([0, 1, 0]), measures=["l2"])


def test_read_only_and_reversed_arrays_are_accepted_without_a_warning() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(size=(8, 4)).astype(np.float32)
    models = rng.normal(size=(2, 8, 4)).astype(np.float32)
    base.flags.writeable = False
    labels = rng.integers(0, 4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = output_divergence(base, models[:, ::-1], labels)
    assert_matches_reference(result, base, models[:, ::-1], labels)


@pytest.mark.parametrize("threads", [1, 2])
def test_each_thread_count_matches_the_reference(threads: int, small_blocks: None) -> None:
    rng = np.random.default_rng(threads)
    base = (rng.normal(size=(25, 5)) * 3).astype(np.float32)
    models = (base[None] + rng.normal(size=(4, 25, 5))).astype(np.float32)
    labels = rng.integers(0, 5, 25)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # 1: blocks in this thread; 2: on two Python threads
    try:
        result = output_divergence(base, models, labels)
    finally:
        torch.set_num_threads(previous)
    assert_matches_reference(result, base, models, labels)
