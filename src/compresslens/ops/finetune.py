"""Operations that train or recalibrate a compressed model: fine-tuning, distillation, BatchNorm.

Compression usually costs accuracy that a little training wins back. Training must not undo
the compression: weights that are exactly zero in the input (pruned) stay exactly zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from compresslens.data.inputs import Inputs
from compresslens.errors import OperationError
from compresslens.models.calling import call_model, model_output
from compresslens.ops.registry import (
    Operation,
    OperationContext,
    OperationParams,
    register_operation,
)
from compresslens.ops.train_params import ScratchTrainParams
from compresslens.ops.training import LossFn, check_classifier_logits, train_classifier

# -- parameters ----------------------------------------------------------------------------


class TrainParams(ScratchTrainParams):
    """Workspace.train's fields, with a smaller default lr: fine-tuning starts from a solution."""

    lr: float = Field(default=1e-3, gt=0)

    def train_kwargs(self) -> dict[str, Any]:
        """The `train_classifier` keyword arguments these parameters stand for."""
        return {
            "epochs": self.epochs,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "lr_schedule": self.lr_schedule,
            "weight_decay": self.weight_decay,
        }


class DistillParams(TrainParams):
    """Training toward a teacher's softened outputs; `alpha` weighs the KL term against CE."""

    temperature: float = Field(default=4.0, gt=0)
    alpha: float = Field(default=0.7, ge=0, le=1)


class RecalibrateParams(OperationParams):
    """Which data re-estimates BatchNorm statistics: `batches` of `batch_size` (None: all)."""

    dataset: str = Field(min_length=1)
    batches: int | None = Field(default=32, ge=1)
    batch_size: int = Field(default=128, ge=1)


# -- shared helpers ------------------------------------------------------------------------


def training_data(
    context: OperationContext, params: TrainParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """The dataset's first `limit` instances, labels as the int64 class ids training takes."""
    data = context.dataset(params.dataset)
    return data.inputs[: params.limit], data.labels[: params.limit].long()


@dataclass(frozen=True)
class PruningMasks:
    """Where Linear/Conv weights are exactly zero, so training can put those zeros back."""

    zeros: tuple[tuple[nn.Module, torch.Tensor], ...]

    @classmethod
    def of(cls, model: nn.Module) -> PruningMasks:
        """Record the zero weights of every Linear and Conv layer that has any."""
        found = []
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if isinstance(module, nn.Linear | nn.modules.conv._ConvNd) and isinstance(
                weight, nn.Parameter
            ):
                zeros = weight.detach() == 0
                if bool(zeros.any()):
                    found.append((module, zeros))
        return cls(tuple(found))

    def reapply(self) -> None:
        """Set the recorded positions back to exactly zero (after an optimizer step)."""
        with torch.no_grad():
            for module, zeros in self.zeros:
                module.weight.masked_fill_(zeros, 0.0)


def _train_keeping_masks(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    params: TrainParams,
    seed: int,
    loss_fn: LossFn | None = None,
) -> nn.Module:
    """Train in place with the params' settings; pruned weights stay exactly zero."""
    masks = PruningMasks.of(model)
    train_classifier(
        model,
        *data,
        seed=seed,
        loss_fn=loss_fn,
        after_step=masks.reapply,
        **params.train_kwargs(),
    )
    return model


# -- train.finetune ------------------------------------------------------------------------


def finetune(model: nn.Module, params: TrainParams, context: OperationContext) -> nn.Module:
    """Recover accuracy lost to compression by training on labels, keeping the pruning."""
    return _train_keeping_masks(model, training_data(context, params), params, context.seed)


# -- train.distill -------------------------------------------------------------------------


def distillation_loss(teacher: nn.Module, temperature: float, alpha: float) -> LossFn:
    """alpha·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha)·CE, t from the frozen teacher."""

    def loss(logits: torch.Tensor, labels: torch.Tensor, inputs: Inputs) -> torch.Tensor:
        check_classifier_logits(logits, labels)
        with torch.no_grad():
            target = model_output(teacher, inputs)
        kl = F.kl_div(
            F.log_softmax(logits / temperature, dim=1),
            F.log_softmax(target / temperature, dim=1),
            reduction="batchmean",
            log_target=True,
        )
        ce = F.cross_entropy(logits, labels)
        return alpha * temperature**2 * kl + (1 - alpha) * ce

    return loss


def _teacher_of(context: OperationContext) -> nn.Module:
    """The second parent, or an error that says how to give one."""
    if len(context.parents) < 2:
        raise OperationError(
            "train.distill needs a teacher model: pass teacher=<model> "
            "(it is recorded as the edge's second parent)"
        )
    return context.teacher


@contextmanager
def _frozen(teacher: nn.Module) -> Iterator[None]:
    """The teacher in eval mode (no dropout, fixed BatchNorm), its own mode restored after."""
    was_training = teacher.training
    teacher.eval()
    try:
        yield
    finally:
        teacher.train(was_training)


def _check_same_outputs(student: nn.Module, teacher: nn.Module, probe: torch.Tensor) -> None:
    """Refuse a teacher whose logits cannot be compared with the student's."""
    student.eval()
    with torch.no_grad():
        shapes = (
            tuple(model_output(student, probe).shape),
            tuple(model_output(teacher, probe).shape),
        )
    if shapes[0] != shapes[1]:
        raise OperationError(
            f"train.distill: the student outputs {list(shapes[0])} but the teacher "
            f"{list(shapes[1])} on the same inputs; they must predict the same classes"
        )


def distill(model: nn.Module, params: DistillParams, context: OperationContext) -> nn.Module:
    """Train the compressed student toward its teacher's outputs, keeping the pruning."""
    teacher = _teacher_of(context)
    data = training_data(context, params)
    with _frozen(teacher):
        _check_same_outputs(model, teacher, data[0][:2])
        loss_fn = distillation_loss(teacher, params.temperature, params.alpha)
        return _train_keeping_masks(model, data, params, context.seed, loss_fn)


# -- bn.recalibrate ------------------------------------------------------------------------


@dataclass
class ChannelMoments:
    """Per-channel count, mean and squared deviations, merged batch by batch (Chan et al.)."""

    count: int = 0
    mean: torch.Tensor | None = None
    m2: torch.Tensor | None = None

    def add(self, x: torch.Tensor) -> None:
        """Fold in a BatchNorm input [N, C, ...] in float64, so the result is exact to fp32."""
        values = x.detach().transpose(0, 1).reshape(x.shape[1], -1).double()
        n = values.shape[1]
        mean = values.mean(dim=1)
        m2 = ((values - mean[:, None]) ** 2).sum(dim=1)
        if self.mean is None or self.m2 is None:
            self.count, self.mean, self.m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    def hook(self, _module: nn.Module, args: tuple[Any, ...]) -> None:
        """Forward pre-hook: record the layer's input."""
        self.add(args[0])

    def write_into(self, layer: nn.modules.batchnorm._BatchNorm) -> None:
        """Make the layer's running mean/var the exact mean and (biased) variance seen."""
        assert self.mean is not None and self.m2 is not None
        assert layer.running_mean is not None and layer.running_var is not None
        layer.running_mean.copy_(self.mean)
        layer.running_var.copy_(self.m2 / self.count)


def _batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """BatchNorm layers that keep running statistics (the ones eval mode uses)."""
    layers = [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    if not layers:
        raise OperationError(
            "bn.recalibrate: the model has no BatchNorm layer with running statistics"
        )
    return layers


def _calibration_batches(
    context: OperationContext, params: RecalibrateParams
) -> list[torch.Tensor]:
    """`batches` seeded-random batches of the dataset; a lone last instance joins the previous."""
    inputs = context.dataset(params.dataset).inputs
    if len(inputs) == 0:
        raise OperationError(f"bn.recalibrate: dataset {params.dataset!r} is empty")
    order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(context.seed))
    if params.batches is not None:
        order = order[: params.batches * params.batch_size]
    chunks = list(order.split(params.batch_size))
    if len(chunks) > 1 and len(chunks[-1]) == 1:  # train-mode BatchNorm1d refuses batches of 1
        chunks[-2:] = [torch.cat(chunks[-2:])]
    return [inputs[chunk] for chunk in chunks]


def recalibrate_batchnorm(
    model: nn.Module, params: RecalibrateParams, context: OperationContext
) -> nn.Module:
    """Re-estimate BatchNorm running statistics that compression made stale; weights untouched.

    BatchNorm layers run in train mode (the layers after them see batch-normalised inputs, as
    in training) while dropout stays off; each running mean/var becomes the exact mean and
    biased variance of the layer's inputs over all calibration batches.
    """
    layers = _batchnorm_layers(model)
    batches = _calibration_batches(context, params)
    moments = [ChannelMoments() for _ in layers]
    hooks = [
        layer.register_forward_pre_hook(m.hook) for layer, m in zip(layers, moments, strict=True)
    ]
    model.eval()
    try:
        with torch.no_grad():
            for layer in layers:
                layer.reset_running_stats()
                layer.train()
            for batch in batches:
                call_model(model, batch)
            for layer, m in zip(layers, moments, strict=True):
                m.write_into(layer)
    finally:
        for handle in hooks:
            handle.remove()
        model.eval()
    return model


# -- registration --------------------------------------------------------------------------

register_operation(
    Operation(
        name="train.finetune",
        apply=finetune,
        params=TrainParams,
        description="Fine-tune on a dataset (Adam, cross-entropy); pruned weights stay zero.",
    )
)
register_operation(
    Operation(
        name="train.distill",
        apply=distill,
        params=DistillParams,
        description="Distil from teacher=… (KL at a temperature + CE); pruned weights stay zero.",
    )
)
register_operation(
    Operation(
        name="bn.recalibrate",
        apply=recalibrate_batchnorm,
        params=RecalibrateParams,
        description="Re-estimate BatchNorm running statistics on a dataset.",
    )
)
