"""train_classifier: determinism, learning, progress reporting and no global side effects."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compresslens.errors import IncompatibleDatasetError
from compresslens.models.zoo import small_cnn
from compresslens.ops.training import train_classifier


def _tiny_problem(n: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class is which quarter of the picture is bright: learnable in a few steps."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 4
    images = torch.rand(n, 1, 12, 12, generator=generator) * 0.2
    for i, label in enumerate(labels.tolist()):
        row, col = divmod(label, 2)
        images[i, 0, row * 6 : row * 6 + 6, col * 6 : col * 6 + 6] += 0.8
    return images, labels


def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return small_cnn(num_classes=4, width=4, hidden=8, image_size=12)


def test_same_seed_gives_bit_identical_weights() -> None:
    inputs, labels = _tiny_problem()
    states = []
    for _ in range(2):
        model = _tiny_model()
        train_classifier(model, inputs, labels, epochs=2, batch_size=16, seed=5)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_different_seeds_give_different_weights() -> None:
    inputs, labels = _tiny_problem()
    weights = []
    for seed in (1, 2):
        model = _tiny_model()
        train_classifier(model, inputs, labels, epochs=1, batch_size=16, seed=seed)
        weights.append(model.classifier.weight.detach().clone())
    assert not torch.equal(weights[0], weights[1])


def test_training_reduces_the_loss() -> None:
    inputs, labels = _tiny_problem()
    model = _tiny_model()
    report = train_classifier(model, inputs, labels, epochs=8, batch_size=16, lr=1e-2)
    assert report.epoch_losses[-1] < 0.5 * report.epoch_losses[0]
    assert report.final_loss == report.epoch_losses[-1]
    with torch.no_grad():
        accuracy = (model(inputs).argmax(1) == labels).float().mean()
    assert accuracy > 0.9


def test_report_and_progress_callback_count_every_step() -> None:
    inputs, labels = _tiny_problem(n=40)
    calls: list[tuple[int, int, float]] = []

    def record(step: int, total: int, loss: float) -> None:
        calls.append((step, total, loss))

    report = train_classifier(
        _tiny_model(), inputs, labels, epochs=2, batch_size=16, seed=7, on_step=record
    )
    assert (report.epochs, report.steps, report.seed) == (2, 6, 7)
    assert [(step, total) for step, total, _ in calls] == [(i, 6) for i in range(1, 7)]
    assert report.seconds > 0


def test_model_is_left_in_eval_mode_with_contiguous_weights() -> None:
    inputs, labels = _tiny_problem()
    model = _tiny_model()
    train_classifier(model, inputs, labels, epochs=1)
    assert not model.training
    assert all(p.is_contiguous() for p in model.parameters())


def test_global_random_state_is_restored() -> None:
    inputs, labels = _tiny_problem()
    model = _tiny_model()
    torch.manual_seed(123)
    train_classifier(model, inputs, labels, epochs=1, seed=9)
    after_training = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(after_training, torch.rand(3))


def test_cosine_schedule_trains_deterministically() -> None:
    inputs, labels = _tiny_problem()
    losses = [
        train_classifier(_tiny_model(), inputs, labels, epochs=2, lr_schedule="cosine").final_loss
        for _ in range(2)
    ]
    assert losses[0] == losses[1]


def test_mismatched_labels_are_refused() -> None:
    inputs, labels = _tiny_problem()
    with pytest.raises(IncompatibleDatasetError, match="48 inputs"):
        train_classifier(_tiny_model(), inputs, labels[:-1])
