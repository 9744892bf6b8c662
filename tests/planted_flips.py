"""A workspace with a planted cause of flips: the trained digits MLP and a copy whose one
layer is damaged on purpose, both evaluated (shared by the attribution tests)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

import compresslens as cl
from factories import MLP_FACTORY, digits_mlp

DAMAGED_LAYER = "body.0"


def planted_workspace(
    location: Path,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp_state: dict[str, torch.Tensor],
) -> cl.Workspace:
    """Digits, "mlp" and "mlp-damaged" (its body.0 weight shrunk to 30% plus noise), both
    evaluated on digits."""
    ws = cl.Workspace(location)
    inputs, labels = digits
    ws.add_dataset("digits", inputs, labels, class_names=[str(i) for i in range(10)])
    mlp = digits_mlp()
    mlp.load_state_dict(trained_mlp_state)
    ws.add_model(mlp, name="mlp", factory=MLP_FACTORY)
    damaged = copy.deepcopy(mlp)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        weight = damaged.get_submodule(DAMAGED_LAYER).weight
        weight.mul_(0.3).add_(torch.randn(weight.shape, generator=generator) * weight.std())
    ws.add_model(damaged, name="mlp-damaged", factory=MLP_FACTORY)
    for name in ("mlp", "mlp-damaged"):
        ws.evaluate(name, "digits", latency=False)
    return ws
