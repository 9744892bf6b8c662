"""The model zoo: output shapes, the `classifier` contract, size and determinism."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from compresslens.models import zoo

FACTORIES: list[Callable[..., nn.Module]] = [zoo.small_cnn, zoo.small_resnet, zoo.lean_cnn]


def _macs_per_image(model: nn.Module) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("factory", FACTORIES)
def test_output_is_one_logit_per_class(factory: Callable[..., nn.Module]) -> None:
    model = factory(num_classes=7)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 7)


@pytest.mark.parametrize("factory", FACTORIES)
def test_classifier_is_the_last_linear_and_takes_the_features(
    factory: Callable[..., nn.Module],
) -> None:
    model = factory().eval()
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    assert linears[-1] == "classifier"
    seen: list[torch.Tensor] = []
    model.classifier.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    x = torch.rand(2, 1, 28, 28)
    logits = model(x)
    torch.testing.assert_close(seen[0], model.forward_features(x))
    torch.testing.assert_close(logits, model.classifier(seen[0]))


@pytest.mark.parametrize("factory", FACTORIES)
def test_construction_is_deterministic_given_the_seed(factory: Callable[..., nn.Module]) -> None:
    torch.manual_seed(3)
    first = factory().state_dict()
    torch.manual_seed(3)
    second = factory().state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_colour_input_is_supported() -> None:
    for factory in FACTORIES:
        assert factory(in_channels=3)(torch.rand(2, 3, 28, 28)).shape == (2, 10)


def test_small_cnn_matches_its_description() -> None:
    model = zoo.small_cnn()
    assert model.block1.conv.out_channels == 32
    assert model.block2.conv.out_channels == 64
    assert model.classifier.in_features == 128
    assert 4.0e6 < _macs_per_image(model) < 4.5e6


def test_small_resnet_shortcuts_use_1x1_convs_only_when_shape_changes() -> None:
    model = zoo.small_resnet(widths=(8, 16, 16))
    shortcuts = [type(block.shortcut) for block in model.stages]
    assert shortcuts == [nn.Identity, nn.Sequential, nn.Sequential]
    assert model.stages[1].shortcut[0].kernel_size == (1, 1)
    assert model.classifier.in_features == 16


def test_lean_cnn_costs_about_one_million_macs() -> None:
    assert 0.8e6 < _macs_per_image(zoo.lean_cnn()) < 1.3e6


def test_demo_training_defaults_name_zoo_factories() -> None:
    for name, settings in zoo.DEMO_TRAINING.items():
        assert callable(getattr(zoo, name))
        assert {"train_size", "epochs", "batch_size", "lr"} <= set(settings)


def test_mlp_flattens_its_input_and_ends_in_a_classifier() -> None:
    from compresslens.models.zoo import mlp

    model = mlp(in_features=12, hidden=5, num_classes=3)
    assert model(torch.zeros(4, 3, 4)).shape == (4, 3)
    assert list(dict(model.named_modules()))[-1] == "classifier"
