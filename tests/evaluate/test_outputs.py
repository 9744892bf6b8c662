"""Per-instance outputs from logits, checked against torch/sklearn and hand-made examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss

from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.outputs import OUTPUT_COLUMNS, concat_outputs, instance_outputs

HAND_LOGITS = torch.tensor(
    [
        [1.0, 3.0, 2.0, 0.0],
        [5.0, 5.0, 1.0, 2.0],
        [-1.0, 0.5, 4.0, 2.0],
    ]
)
HAND_LABELS = torch.tensor([1, 1, 0])


@pytest.fixture
def random_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(64, 10, generator=generator)
    labels = torch.randint(0, 10, (64,), generator=generator)
    return logits, labels


def test_columns_and_dtypes_follow_the_documented_schema(random_batch):
    out = instance_outputs(*random_batch, top_k=3)
    assert list(out) == list(OUTPUT_COLUMNS)
    for name, column in OUTPUT_COLUMNS.items():
        assert out[name].dtype == np.dtype(column.dtype), name
        expected_ndim = 2 if column.shape == "[N, k]" else 1
        assert out[name].ndim == expected_ndim, name
        assert out[name].shape[0] == 64


def test_margin_and_top_k_on_a_hand_made_matrix():
    out = instance_outputs(HAND_LOGITS, HAND_LABELS, top_k=2)
    np.testing.assert_array_equal(out["label"], [1, 1, 0])
    np.testing.assert_array_equal(out["prediction"], [1, 0, 2])
    np.testing.assert_array_equal(out["margin"], np.array([1.0, 0.0, 2.0], dtype=np.float32))
    np.testing.assert_array_equal(out["top_classes"], [[1, 2], [0, 1], [2, 3]])


def test_tied_logits_rank_the_lowest_class_first():
    out = instance_outputs(torch.zeros(2, 6), torch.tensor([0, 5]), top_k=6)
    np.testing.assert_array_equal(out["prediction"], [0, 0])
    np.testing.assert_array_equal(out["top_classes"], [list(range(6))] * 2)
    np.testing.assert_array_equal(out["margin"], [0.0, 0.0])


def test_ties_straddling_the_k_th_place_keep_the_lowest_classes():
    out = instance_outputs(torch.zeros(2, 8), torch.tensor([0, 7]), top_k=3)
    np.testing.assert_array_equal(out["top_classes"], [[0, 1, 2], [0, 1, 2]])


@pytest.mark.parametrize("top_k", [1, 3, 5])
def test_top_classes_match_a_stable_argsort_when_many_logits_tie(top_k):
    generator = torch.Generator().manual_seed(3)
    logits = torch.randint(0, 4, (300, 10), generator=generator).float()
    out = instance_outputs(logits, torch.zeros(300, dtype=torch.long), top_k=top_k)
    expected = np.argsort(-logits.numpy(), axis=1, kind="stable")[:, :top_k]
    np.testing.assert_array_equal(out["top_classes"], expected)
    np.testing.assert_array_equal(out["prediction"], logits.numpy().argmax(axis=1))


def test_probabilities_match_softmax_on_the_hand_made_matrix():
    out = instance_outputs(HAND_LOGITS, HAND_LABELS, top_k=4)
    probs = torch.softmax(HAND_LOGITS.double(), dim=1).numpy()
    rows = np.arange(3)
    np.testing.assert_allclose(out["confidence"], probs.max(axis=1), rtol=1e-6)
    np.testing.assert_allclose(out["true_prob"], probs[rows, [1, 1, 0]], rtol=1e-6)
    np.testing.assert_allclose(
        out["top_probs"], np.take_along_axis(probs, out["top_classes"], axis=1), rtol=1e-6
    )
    assert np.all(np.diff(out["top_probs"], axis=1) <= 0)


def test_loss_matches_torch_cross_entropy_and_its_mean_matches_log_loss(random_batch):
    logits, labels = random_batch
    out = instance_outputs(logits, labels)
    expected = torch.nn.functional.cross_entropy(logits.double(), labels, reduction="none")
    np.testing.assert_allclose(out["loss"], expected.numpy(), rtol=1e-6)
    probs = torch.softmax(logits.double(), dim=1).numpy()
    reference = log_loss(labels.numpy(), probs, labels=list(range(10)))
    assert float(out["loss"].astype(np.float64).mean()) == pytest.approx(reference, rel=1e-6)


def test_loss_is_exact_for_huge_logits():
    out = instance_outputs(torch.tensor([[1000.0, 0.0]]), torch.tensor([1]))
    assert out["loss"][0] == np.float32(1000.0)
    assert out["true_prob"][0] == 0.0
    assert out["confidence"][0] == 1.0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_any_float_dtype_is_accepted(random_batch, dtype):
    logits, labels = random_batch
    low = logits.to(dtype)
    out = instance_outputs(low, labels)
    expected = torch.nn.functional.cross_entropy(low.double(), labels, reduction="none")
    np.testing.assert_allclose(out["loss"], expected.numpy(), rtol=1e-6)


def test_k_is_capped_by_the_number_of_classes(random_batch):
    logits, labels = random_batch
    out = instance_outputs(logits[:, :3], labels % 3, top_k=5)
    assert out["top_classes"].shape == (64, 3)
    assert out["top_probs"].shape == (64, 3)
    np.testing.assert_allclose(out["top_probs"].sum(axis=1), 1.0, rtol=1e-6)


def test_single_class_model_is_degenerate_but_valid():
    out = instance_outputs(torch.tensor([[2.5], [-1.0], [0.0]]), torch.zeros(3, dtype=torch.long))
    np.testing.assert_array_equal(out["prediction"], [0, 0, 0])
    np.testing.assert_array_equal(out["margin"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(out["confidence"], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(out["loss"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(out["top_classes"], [[0], [0], [0]])


def test_logits_that_require_grad_are_accepted(random_batch):
    logits, labels = random_batch
    out = instance_outputs(logits.clone().requires_grad_(True), labels)
    assert out["loss"].shape == (64,)


def test_non_finite_logits_name_how_many_and_where():
    logits = torch.zeros(256, 10)
    logits[4, 2] = float("nan")
    logits[17, 0] = float("inf")
    logits[90, 9] = float("-inf")
    labels = torch.zeros(256, dtype=torch.long)
    message = "model produced non-finite logits for 3 of 256 instances (first: 4, 17, 90)"
    with pytest.raises(InvalidOutputError) as caught:
        instance_outputs(logits, labels)
    assert str(caught.value) == message


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4)])
def test_logits_of_the_wrong_rank_are_refused(shape):
    with pytest.raises(InvalidOutputError, match="rank 2"):
        instance_outputs(torch.zeros(shape), torch.zeros(shape[0], dtype=torch.long))


def test_logits_and_labels_of_different_lengths_are_refused():
    with pytest.raises(InvalidOutputError, match="logits for 3 instances but the batch has 4"):
        instance_outputs(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))


def test_labels_beyond_the_class_count_are_refused():
    labels = torch.tensor([0, 11, 3, 10, 2])
    expected = "dataset labels go up to 11 but the model outputs 10 classes"
    with pytest.raises(IncompatibleDatasetError, match=expected) as caught:
        instance_outputs(torch.zeros(5, 10), labels)
    assert "2 of 5 instances" in str(caught.value)
    assert "first: 1, 3" in str(caught.value)


def test_negative_labels_are_refused():
    with pytest.raises(IncompatibleDatasetError, match="go down to -1"):
        instance_outputs(torch.zeros(2, 10), torch.tensor([-1, 0]))


def test_float_labels_are_refused():
    with pytest.raises(IncompatibleDatasetError, match="integer class ids"):
        instance_outputs(torch.zeros(2, 10), torch.tensor([0.0, 1.0]))


def test_concatenated_batches_equal_one_pass_over_all(random_batch):
    logits, labels = random_batch
    whole = instance_outputs(logits, labels)
    parts = [instance_outputs(logits[i : i + 20], labels[i : i + 20]) for i in range(0, 64, 20)]
    joined = concat_outputs(parts)
    assert list(joined) == list(whole)
    for name in whole:
        np.testing.assert_array_equal(joined[name], whole[name])


def test_concat_refuses_batches_with_different_k(random_batch):
    logits, labels = random_batch
    parts = [instance_outputs(logits, labels, top_k=2), instance_outputs(logits, labels, top_k=3)]
    with pytest.raises(InvalidOutputError, match="top_classes"):
        concat_outputs(parts)


def test_concat_refuses_an_empty_list():
    with pytest.raises(InvalidOutputError, match="no batches"):
        concat_outputs([])
