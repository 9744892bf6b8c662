"""Structured pruning: remove whole filters/channels, so the child is physically smaller.

Torch-Pruning's DependencyGraph finds the layers coupled to each channel (the next layer's
inputs, batch norms, residual additions, flatten) and removes them together. The selection
names the layers whose *output* channels may be removed; every other Linear/Conv keeps its
outputs, and so do the model's output layers, found by tracing (`ops/outputs.py`) whatever
they are called. Norm layers are not chosen as targets but shrink with the layer they
normalize. The example input that tracing needs is one instance shaped as the model's
recorded input spec, or `input_shape` (one instance, no batch dimension) when given.

Replay rebuilds the smaller architecture from the parent without re-ranking anything: for
each coupled group it removes as many (trailing) channels as the stored shapes say; the
stored weights then overwrite every value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import torch
import torch_pruning as tp
from pydantic import Field, model_validator
from torch import nn

from compresslens.data.inputs import Inputs, describe_example, example_from_spec, spec_from_shape
from compresslens.errors import DataFormatError, OperationError
from compresslens.models.calling import output_tensor
from compresslens.ops.outputs import output_layers
from compresslens.ops.pruning import calibration_batches, model_logits
from compresslens.ops.registry import (
    Operation,
    OperationContext,
    ReplayContext,
    register_operation,
)
from compresslens.ops.selection import SelectionParams, select_modules

ROOT_TYPES = (nn.modules.conv._ConvNd, nn.Linear)
Importance = Literal["l1", "l2", "taylor"]


class StructuredParams(SelectionParams):
    """Channel ratio to remove, how channels are ranked, and optionally the input shape.

    `input_shape` is the shape of one instance without the batch dimension (e.g.
    [1, 28, 28]); by default the model's recorded input spec gives the example to trace.
    """

    amount: Annotated[float, Field(ge=0.0, lt=1.0)]
    importance: Importance = "l1"
    global_pruning: bool = False
    dataset: str | None = None
    batch_size: int = Field(default=64, gt=0)
    calibration_batches: int = Field(default=4, gt=0)
    input_shape: list[int] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> StructuredParams:
        if self.importance == "taylor" and self.dataset is None:
            raise ValueError("importance='taylor' needs dataset=… to compute gradients")
        if self.input_shape is not None and any(size < 1 for size in self.input_shape):
            raise ValueError(f"input_shape must be positive sizes, got {self.input_shape}")
        return self


# ------------------------------------------------------------------------ tracing


def example_input(
    model: nn.Module, params: StructuredParams, context: OperationContext | ReplayContext
) -> Inputs:
    """One instance to trace with: of `input_shape` if given, else the context's example."""
    if params.input_shape is None:
        return context.example("prune.structured")
    dtype = next((p.dtype for p in model.parameters() if p.dtype.is_floating_point), torch.float32)
    try:
        spec = spec_from_shape(params.input_shape, str(dtype).removeprefix("torch."))
    except DataFormatError as exc:
        raise OperationError(f"prune.structured: {exc}") from None
    return example_from_spec(spec)


def dependency_graph(model: nn.Module, example: Inputs) -> tp.DependencyGraph:
    """Trace the model (eval mode, so batch norms keep their statistics) into a graph."""
    model.eval()
    try:
        with torch.enable_grad():
            return tp.DependencyGraph().build_dependency(
                model,
                example_inputs=_traceable(example),
                output_transform=output_tensor,
                verbose=False,
            )
    except Exception as exc:
        raise OperationError(
            f"prune.structured could not trace the model on an example input of "
            f"{describe_example(example)}: {exc}"
        ) from exc


def _traceable(example: Inputs) -> Any:
    """Torch-Pruning calls model(**example) for a dict, model(example) for a tensor."""
    return example if isinstance(example, torch.Tensor) else example.as_dict()


def ignored_layers(model: nn.Module, params: StructuredParams, example: Inputs) -> list[nn.Module]:
    """Layers whose output channels stay: the unselected ones and the model's output layers."""
    selected = set(select_modules(model, params).values())
    outputs = {model.get_submodule(name) for name in output_layers(model, example)}
    return [
        m
        for m in model.modules()
        if isinstance(m, ROOT_TYPES) and (m not in selected or m in outputs)
    ]


def refuse_attention_blocks(model: nn.Module) -> None:
    """Transformer attention reshapes channels into num_heads × head_dim, which Torch-Pruning's
    graph does not keep consistent: channel removal would silently change the heads (BERT)
    or not finish (Llama). nn.MultiheadAttention has a pruner of its own and is allowed."""
    blocks = sorted(
        {
            type(m).__name__
            for m in model.modules()
            if "Attention" in type(m).__name__ and not isinstance(m, nn.MultiheadAttention)
        }
    )
    if blocks:
        raise OperationError(
            f"prune.structured cannot remove channels of a model with attention blocks "
            f"({', '.join(blocks)}): it would change the number or size of the attention "
            "heads; use prune.magnitude, prune.nm, lowrank.svd or quantize.* on this model"
        )


# ----------------------------------------------------------------------- pruning


def importance_of(params: StructuredParams) -> tp.importance.Importance:
    """Torch-Pruning's channel scorer for our importance name."""
    if params.importance == "taylor":
        return tp.importance.TaylorImportance()
    return tp.importance.MagnitudeImportance(p=1 if params.importance == "l1" else 2)


def accumulate_gradients(
    model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> None:
    """Sum cross-entropy gradients over the calibration batches into `.grad` (eval mode)."""
    model.eval()
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        for inputs, labels in batches:
            nn.functional.cross_entropy(model_logits(model, inputs), labels).backward()


def apply_structured(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """Rank channels with Torch-Pruning and remove the lowest `amount` of each group."""
    refuse_attention_blocks(model)
    example = example_input(model, params, context)
    ignored = ignored_layers(model, params, example)
    model.eval()
    try:
        with torch.enable_grad():
            pruner = tp.pruner.BasePruner(
                model,
                _traceable(example),
                importance=importance_of(params),
                global_pruning=params.global_pruning,
                pruning_ratio=params.amount,
                ignored_layers=ignored,
                root_module_types=list(ROOT_TYPES),
                output_transform=output_tensor,
            )
    except Exception as exc:
        raise OperationError(
            f"prune.structured could not trace the model on an example input of "
            f"{describe_example(example)}: {exc}"
        ) from exc
    if params.importance == "taylor":
        batches = calibration_batches(
            context, params.dataset, params.batch_size, params.calibration_batches
        )
        accumulate_gradients(model, batches)
    try:
        pruner.step()
    finally:
        model.zero_grad(set_to_none=True)
    return model.eval()


# ------------------------------------------------------------------------ replay


def out_channel_dim(module: nn.Module) -> int:
    """The weight dimension that holds a layer's output channels."""
    return 1 if isinstance(module, nn.modules.conv._ConvTransposeNd) else 0


def channels_to_remove(
    module: nn.Module, name: str, out_channels: int, stored: Mapping[str, tuple[int, ...]]
) -> int:
    """How many output channels the stored weight of `name` lacks compared with `module`."""
    key = f"{name}.weight" if name else "weight"
    if key not in stored:
        return 0
    dim = out_channel_dim(module)
    current = module.weight.shape[dim]
    per_row = out_channels // current  # grouped transposed convs hold groups × rows
    return (current - stored[key][dim]) * per_row


def removal_plan(
    graph: tp.DependencyGraph, model: nn.Module, stored: Mapping[str, tuple[int, ...]]
) -> list[tuple[nn.Module, int]]:
    """(root layer, channels to remove) for every coupled group the stored shapes shrank."""
    names = {module: name for name, module in model.named_modules()}
    plan = []
    for group in graph.get_all_groups(root_module_types=ROOT_TYPES):
        root = group[0].dep.target.module
        out_channels = graph.get_out_channels(root)
        removed = channels_to_remove(root, names[root], out_channels, stored)
        if removed < 0:
            raise OperationError(
                f"stored weights of {names[root]!r} have more channels than its parent"
            )
        if removed:
            plan.append((root, removed))
    return plan


def remove_trailing_channels(graph: tp.DependencyGraph, root: nn.Module, count: int) -> None:
    """Remove the last `count` output channels of `root` and of everything coupled to it."""
    pruner = graph.get_pruner_of_module(root)
    current = graph.get_out_channels(root)
    indices = list(range(current - count, current))
    graph.get_pruning_group(root, pruner.prune_out_channels, indices).prune()


def shape_mismatches(model: nn.Module, stored: Mapping[str, tuple[int, ...]]) -> list[str]:
    """Tensors whose rebuilt shape differs from the stored one, described for an error."""
    return [
        f"{name}: rebuilt {list(tensor.shape)}, stored {list(stored[name])}"
        for name, tensor in model.state_dict().items()
        if name in stored and tuple(tensor.shape) != tuple(stored[name])
    ]


def replay_structured(model: nn.Module, params: Any, context: ReplayContext) -> nn.Module:
    """Shrink the parent's architecture to the stored shapes (values come from storage)."""
    stored_shapes = context.stored_shapes
    graph = dependency_graph(model, example_input(model, params, context))
    with torch.no_grad():
        for root, count in removal_plan(graph, model, stored_shapes):
            remove_trailing_channels(graph, root, count)
    mismatches = shape_mismatches(model, stored_shapes)
    if mismatches:
        shown = "; ".join(mismatches[:5]) + ("; …" if len(mismatches) > 5 else "")
        raise OperationError(f"prune.structured replay cannot reach the stored shapes: {shown}")
    return model.eval()


register_operation(
    Operation(
        name="prune.structured",
        apply=apply_structured,
        params=StructuredParams,
        replay=replay_structured,
        description="Structured: remove whole channels with Torch-Pruning's dependency graph.",
    )
)
