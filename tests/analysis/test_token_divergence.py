"""Token-level comparison on identical tokens: the compact base outputs, the bucketed KLD and
every number of the comparison against a direct float64 computation with scipy, on hand-made
logits (ties, k = 1, a token of probability 0, float16) and random ones, in small chunks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import log_softmax, rel_entr, softmax

from compresslens.analysis import token_divergence
from compresslens.analysis.token_divergence import (
    CompactTokenOutputs,
    compact_token_outputs,
    token_comparison,
    token_kld,
    token_kld_full,
)
from compresslens.errors import IncompatibleDatasetError, InvalidInputError, InvalidOutputError


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few tokens, so every chunked path runs over many chunks."""
    monkeypatch.setattr(token_divergence, "CHUNK_ELEMENTS", 40)


def random_pair(tokens: int = 60, vocab: int = 25, scale: float = 3.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(tokens, vocab)) * scale
    model = base + rng.normal(size=base.shape) * 0.7
    targets = rng.integers(0, vocab, tokens)
    return base, model, targets


def peaked_pair(tokens: int = 60, vocab: int = 200, seed: int = 1):
    """Zipf-like distributions with one dominant token, as a trained LM's."""
    rng = np.random.default_rng(seed)
    ranks = np.argsort(rng.random((tokens, vocab)), axis=1)
    base = -1.2 * np.log1p(ranks) * 3 + rng.normal(size=(tokens, vocab)) * 0.3
    model = base + rng.normal(size=base.shape) * 0.4
    return base, model, rng.integers(0, vocab, tokens)


def reference_bucket_kld(base: np.ndarray, model: np.ndarray, k: int) -> np.ndarray:
    """KL between base and model coarsened to {top-k of the base, everything else}, float64."""
    p, q = softmax(base, axis=1), softmax(model, axis=1)
    top = np.argsort(-base, axis=1, kind="stable")[:, :k]
    rest = np.ones_like(p, dtype=bool)
    np.put_along_axis(rest, top, False, axis=1)
    p_top, q_top = np.take_along_axis(p, top, 1), np.take_along_axis(q, top, 1)
    p_rest, q_rest = (p * rest).sum(1), (q * rest).sum(1)
    return rel_entr(p_top, q_top).sum(1) + rel_entr(p_rest, q_rest)


def test_compact_outputs_match_a_float64_softmax(small_chunks: None) -> None:
    base, _, targets = random_pair()
    compact = compact_token_outputs(base, 5, targets)
    log_p = log_softmax(base, axis=1)
    top = np.argsort(-base, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(compact.top_ids, top)
    assert compact.top_ids.dtype == np.int32 and compact.top_logprobs.dtype == np.float32
    np.testing.assert_allclose(compact.top_logprobs, np.take_along_axis(log_p, top, 1), atol=1e-5)
    p_sorted = np.sort(np.exp(log_p), axis=1)[:, ::-1]
    np.testing.assert_allclose(compact.log_rest, np.log(p_sorted[:, 5:].sum(1)), rtol=1e-5)
    np.testing.assert_allclose(compact.top1_margin, p_sorted[:, 0] - p_sorted[:, 1], atol=1e-6)
    np.testing.assert_allclose(compact.target_logprobs, log_p[np.arange(60), targets], atol=1e-5)
    np.testing.assert_array_equal(compact.targets, targets)
    assert (compact.tokens, compact.k, compact.vocab_size) == (60, 5, 25)


def test_ties_go_to_the_lower_id_and_top1_is_numpys_argmax() -> None:
    logits = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, 5.0, 1.0, 5.0]])
    two = compact_token_outputs(logits, 2)
    np.testing.assert_array_equal(two.top_ids[[0, 2]], [[1, 2], [1, 3]])
    assert two.top_ids[1, 0] == 0 and two.top_ids[1, 1] in (1, 2, 3)  # tied at the k-th place
    np.testing.assert_allclose(two.log_rest[1], np.log(0.5), rtol=1e-6)
    one = compact_token_outputs(logits, 1)  # a tie at the top wider than k
    np.testing.assert_array_equal(one.top_ids[:, 0], np.argmax(logits, axis=1))
    np.testing.assert_allclose(one.top1_margin, [0.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_array_equal(two.top1_margin, one.top1_margin)
    np.testing.assert_allclose(
        one.log_rest,
        [np.log(1 - softmax(logits[0])[1]), np.log(0.75), np.log(1 - softmax(logits[2])[1])],
        rtol=1e-6,
    )


def test_one_token_vocabulary_has_margin_one_and_no_rest() -> None:
    compact = compact_token_outputs(np.zeros((3, 1), dtype=np.float32), 1)
    np.testing.assert_array_equal(compact.top1_margin, [1.0, 1.0, 1.0])
    assert np.isneginf(compact.log_rest).all() and (compact.top_logprobs == 0).all()


@pytest.mark.parametrize("make", [random_pair, peaked_pair], ids=["random", "peaked"])
def test_compact_kld_is_the_bucketed_kld_and_a_lower_bound_that_tightens_with_k(make) -> None:
    base, model, _ = make()
    vocab = base.shape[1]
    full = token_kld_full(base, model)
    np.testing.assert_allclose(
        full, rel_entr(softmax(base, 1), softmax(model, 1)).sum(1), rtol=1e-12, atol=1e-15
    )
    previous = np.zeros_like(full)
    for k in (1, 2, 8, vocab // 2, vocab):
        estimate = token_kld(compact_token_outputs(base, k), model)
        np.testing.assert_allclose(estimate, reference_bucket_kld(base, model, k), atol=2e-6)
        assert (estimate <= full + 2e-6).all()
        assert (estimate >= previous - 2e-6).all()  # a finer partition never lowers the KL
        previous = estimate
    np.testing.assert_allclose(previous, full, atol=2e-6)  # k = V: exact


def test_identical_model_has_zero_kld_and_no_change() -> None:
    base, _, targets = random_pair()
    result = token_comparison(compact_token_outputs(base, 4, targets), base, targets)
    assert np.abs(result.kld).max() < 1e-6 and (result.kld >= 0).all()
    assert result.same_top.all() and np.abs(result.delta_p).max() < 1e-6
    assert result.correct_to_incorrect.count == result.incorrect_to_correct.count == 0


def test_token_of_probability_zero() -> None:
    base = np.array([[0.0, 1.0, -np.inf], [2.0, 0.0, 1.0]])
    same_zero = np.array([[0.5, 1.0, -np.inf], [2.0, 0.0, 1.0]])
    expected = rel_entr(softmax(base, 1), softmax(same_zero, 1)).sum(1)
    for k in (1, 2, 3):
        compact = compact_token_outputs(base, k)
        rest = -np.inf if k >= 2 else np.log(softmax(base[0])[0])
        assert compact.log_rest[0] == pytest.approx(rest, rel=1e-6)
        estimate = token_kld(compact, same_zero)
        assert np.isfinite(estimate).all() and (estimate <= expected + 1e-6).all()
    np.testing.assert_allclose(
        token_kld(compact_token_outputs(base, 3), same_zero), expected, atol=1e-6
    )
    rules_out = np.array([[0.0, -np.inf, 0.0], [2.0, 0.0, 1.0]])  # base's top token at q = 0
    assert token_kld(compact_token_outputs(base, 1), rules_out)[0] == math.inf
    assert token_kld_full(base, rules_out)[0] == math.inf


def test_float16_input_matches_its_float64_upcast() -> None:
    base, model, targets = peaked_pair()
    base16, model16 = base.astype(np.float16), model.astype(np.float16)
    compact = compact_token_outputs(base16, 8, targets)
    exact = compact_token_outputs(base16.astype(np.float64), 8, targets)
    np.testing.assert_array_equal(compact.top_ids, exact.top_ids)
    np.testing.assert_allclose(compact.top_logprobs, exact.top_logprobs, atol=1e-5)
    np.testing.assert_allclose(
        token_kld(compact, torch.from_numpy(model16)),
        reference_bucket_kld(base16.astype(np.float64), model16.astype(np.float64), 8),
        atol=1e-5,
    )


def test_chunks_given_one_by_one_match_the_whole_array(small_chunks: None) -> None:
    base, model, targets = random_pair(tokens=37)
    whole = compact_token_outputs(base, 3, targets)
    pieces = compact_token_outputs((base[s : s + 10] for s in range(0, 37, 10)), 3, targets)
    for name, values in whole.arrays().items():
        np.testing.assert_array_equal(pieces.arrays()[name], values, err_msg=name)
    chunked = token_comparison(whole, (torch.from_numpy(model[s : s + 7]) for s in range(0, 37, 7)))
    np.testing.assert_array_equal(chunked.kld, token_comparison(whole, model).kld)
    full_chunks = token_kld_full(
        (base[s : s + 5] for s in range(0, 37, 5)), (model[s : s + 5] for s in range(0, 37, 5))
    )
    np.testing.assert_allclose(full_chunks, token_kld_full(base, model), rtol=1e-12)


def test_comparison_numbers_against_a_direct_computation(small_chunks: None) -> None:
    base, model, targets = random_pair(tokens=400, vocab=12, scale=1.5)
    p, q = softmax(base, 1), softmax(model, 1)
    rows = np.arange(400)
    result = token_comparison(compact_token_outputs(base, 4, targets), model, targets)
    summary = result.summary()
    kld = reference_bucket_kld(base, model, 4)
    np.testing.assert_allclose(result.kld, kld, atol=2e-6)
    median, p90, p99, p999 = np.percentile(kld, [50, 90, 99, 99.9])
    expected_kld = {
        "mean": kld.mean(),
        "median": median,
        "p90": p90,
        "p99": p99,
        "p99.9": p999,
        "max": kld.max(),
    }
    for name, value in expected_kld.items():
        assert summary["kld"][name] == pytest.approx(value, abs=2e-6), name
    base_top, model_top = base.argmax(1), model.argmax(1)
    assert summary["same_top_rate"] == np.mean(base_top == model_top)
    delta = q[rows, targets] - p[rows, targets]
    np.testing.assert_allclose(result.delta_p, delta, atol=1e-6)
    for point in (1, 5, 50, 95, 99):
        assert summary["delta_p"][f"p{point}"] == pytest.approx(
            np.percentile(delta, point), abs=1e-6
        )
    assert summary["base_perplexity"] == pytest.approx(
        np.exp(-np.log(p[rows, targets]).mean()), rel=1e-6
    )
    assert summary["model_perplexity"] == pytest.approx(
        np.exp(-np.log(q[rows, targets]).mean()), rel=1e-6
    )
    lost = np.flatnonzero((base_top == targets) & (model_top != targets))
    gained = np.flatnonzero((base_top != targets) & (model_top == targets))
    assert lost.size > 0 and gained.size > 0  # the fixture exercises both directions
    np.testing.assert_array_equal(result.correct_to_incorrect.positions, lost)
    np.testing.assert_array_equal(result.incorrect_to_correct.positions, gained)
    ranked = np.sort(p, axis=1)
    margin = ranked[:, -1] - ranked[:, -2]
    np.testing.assert_allclose(result.correct_to_incorrect.base_margin, margin[lost], atol=1e-6)
    assert summary["correct_to_incorrect"]["rate"] == lost.size / 400
    edges = np.array(token_divergence.DEFAULT_MARGIN_BINS)
    for low, high, row in zip(edges[:-1], edges[1:], summary["flips_by_base_margin"], strict=True):
        inside = (margin >= low) & ((margin < high) | (high == 1.0))
        assert row["tokens"] == inside.sum()
        assert row["top_changed"] == (inside & (base_top != model_top)).sum()
        assert row["correct_to_incorrect"] == np.isin(np.flatnonzero(inside), lost).sum()
    assert sum(row["tokens"] for row in summary["flips_by_base_margin"]) == 400


def test_direction_split_on_a_planted_change() -> None:
    """Base right on 0–3 and wrong on 4–5; the model loses 1 and 3 and gains 4."""
    targets = np.array([0, 1, 2, 0, 1, 2])
    base = np.full((6, 3), 0.0)
    base[np.arange(4), targets[:4]] = [5.0, 0.1, 5.0, 0.05]  # wins by a large or small margin
    base[4, 0] = base[5, 0] = 3.0
    model = base.copy()
    model[1, 2] = model[3, 1] = 1.0
    model[4, 1] = 4.0
    result = token_comparison(compact_token_outputs(base, 1, targets), model, targets)
    np.testing.assert_array_equal(result.correct_to_incorrect.positions, [1, 3])
    np.testing.assert_array_equal(result.incorrect_to_correct.positions, [4])
    p = softmax(base, 1)
    np.testing.assert_allclose(
        result.correct_to_incorrect.base_margin, [p[1, 1] - p[1, 0], p[3, 0] - p[3, 1]], atol=1e-6
    )
    small = result.margin_bins[0]
    assert (small.tokens, small.top_changed, small.correct_to_incorrect) == (2, 2, 2)
    assert result.summary()["same_top_rate"] == pytest.approx(3 / 6)


def test_compact_outputs_survive_storage_as_arrays() -> None:
    base, _, targets = random_pair(tokens=9)
    compact = compact_token_outputs(base, 2, targets)
    again = CompactTokenOutputs(**compact.arrays(), vocab_size=compact.vocab_size)
    np.testing.assert_array_equal(token_kld(again, base + 1.0), token_kld(compact, base + 1.0))
    arrays = compact.arrays() | {"log_rest": compact.log_rest[:-1]}
    with pytest.raises(InvalidOutputError, match="inconsistent"):
        CompactTokenOutputs(**arrays, vocab_size=compact.vocab_size)


def test_bad_input_is_refused_with_a_clear_error() -> None:
    base, model, targets = random_pair(tokens=8, vocab=5)
    compact = compact_token_outputs(base, 2, targets)
    with pytest.raises(InvalidInputError, match="exceeds the vocabulary"):
        compact_token_outputs(base, 6)
    with pytest.raises(InvalidInputError, match="positive integer"):
        compact_token_outputs(base, 0)
    with pytest.raises(InvalidOutputError, match="NaN"):
        compact_token_outputs(np.where(np.eye(8, 5) > 0, np.nan, base), 2)
    with pytest.raises(InvalidOutputError, match="shape"):
        compact_token_outputs(base[0], 2)
    with pytest.raises(IncompatibleDatasetError, match="identical tokens"):
        token_comparison(compact, model, (targets + 1) % 5)
    with pytest.raises(IncompatibleDatasetError, match=r"\[0, 5\)"):
        compact_token_outputs(base, 2, targets + 5)
    with pytest.raises(IncompatibleDatasetError, match="targets"):
        compact_token_outputs(base, 2, targets[:3])
    with pytest.raises(InvalidOutputError, match="no targets"):
        token_comparison(compact_token_outputs(base, 2), model, targets)
    with pytest.raises(InvalidOutputError, match="vocabulary"):
        token_kld(compact, model[:, :4])
    with pytest.raises(InvalidOutputError, match="cover"):
        token_kld(compact, model[:7])
    with pytest.raises(InvalidOutputError, match="does not match"):
        token_kld_full(base, model[:, :4])
    with pytest.raises(InvalidInputError, match="margin_bins"):
        token_comparison(compact, model, margin_bins=[0.0, 0.5])
