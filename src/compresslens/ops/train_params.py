"""Typed training parameters shared by training from scratch and the training operations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compresslens.ops.registry import OperationParams


class ScratchTrainParams(OperationParams):
    """How a population member is trained: on which registered dataset, for how long."""

    dataset: str
    epochs: int = Field(default=1, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    batch_size: int = Field(default=128, ge=1)
    limit: int | None = Field(default=None, ge=1)
    weight_decay: float = Field(default=0.0, ge=0)
    lr_schedule: Literal["constant", "cosine"] = "constant"
