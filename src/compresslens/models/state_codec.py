"""A model's values as a flat dict of plain tensors, and back: what safetensors can hold.

`export_state` / `restore_state` are the only way the workspace reads or writes a model's
values, so every kind of module (float, masked, quantized) round-trips through one place.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from compresslens.models.weights import load_state_into


def export_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every value the model needs, as plain (non-quantized, non-subclass) tensors."""
    return dict(model.state_dict())


def restore_state(model: nn.Module, flat: Mapping[str, torch.Tensor]) -> nn.Module:
    """Load `export_state`'s output into a model of the same architecture (strictly)."""
    return load_state_into(model, flat)
