"""Rebuilding a stored model: factory → replayed architecture changes → its own weights."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from compresslens.errors import InvalidWeightsError
from compresslens.models.factory import build_from_factory
from compresslens.models.state_codec import restore_state


@dataclass(frozen=True)
class NodeRecipe:
    """What rebuilding needs to know about one node of a lineage (root first)."""

    model_id: str
    name: str
    factory: str | None = None
    factory_kwargs: Mapping[str, Any] = field(default_factory=dict)
    op_name: str | None = None
    op_params: Mapping[str, Any] = field(default_factory=dict)
    load_weights: Callable[[], dict[str, torch.Tensor]] | None = None
    load_shapes: Callable[[], dict[str, tuple[int, ...]]] | None = None

    def stored_shapes(self) -> dict[str, tuple[int, ...]]:
        return {} if self.load_shapes is None else self.load_shapes()


ReplayFn = Callable[[nn.Module, NodeRecipe], nn.Module]


def rebuild_model(lineage: Sequence[NodeRecipe], replay: ReplayFn) -> nn.Module:
    """Build the nearest ancestor that has a factory, replay the edges after it, load weights.

    Replaying only changes architecture (e.g. removed channels, quantized modules); the
    values come from the last node's stored state dict, so outputs are bit-identical.
    """
    if not lineage:
        raise ValueError("empty lineage")
    target = lineage[-1]
    if target.load_weights is None:
        raise InvalidWeightsError(
            f"model {target.name!r} was logged without weights, so it cannot be loaded"
        )
    start = max((i for i, node in enumerate(lineage) if node.factory), default=None)
    if start is None:
        raise InvalidWeightsError(
            f"model {target.name!r} cannot be rebuilt: no model in its lineage has a factory"
        )
    root = lineage[start]
    model = build_from_factory(root.factory or "", root.factory_kwargs, root.name)
    for node in lineage[start + 1 :]:
        model = replay(model, node)
    restore_state(model, target.load_weights())
    return model.eval()
