"""Tiny operations for sweep tests, registered on import (recipes list this module as a plugin).

Spawned pool workers import it too, so every process knows the same operations.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import time
from pathlib import Path

import torch
from pydantic import Field
from torch import nn

from compresslens.ops.registry import (
    Operation,
    OperationContext,
    OperationParams,
    register_operation,
)


class ScaleParams(OperationParams):
    factor: float = Field(gt=0)
    mode: str = "all"


class FailParams(OperationParams):
    fail: bool = False


class SlowParams(OperationParams):
    seconds: float = Field(default=0.2, ge=0)
    tag: int = 0


class CrashParams(OperationParams):
    crash: bool = False


class CrashOnceParams(OperationParams):
    marker: str  # the first try creates it, then kills its process; a retry succeeds


class RecordResourcesParams(OperationParams):
    marker: str  # where the Ray resources assigned to this node are written, as JSON


class HoldGilParams(OperationParams):
    seconds: int = Field(default=1, ge=0)
    marker: str = ""  # a file created once the call has started
    tag: int = 0


class BlendParams(OperationParams):
    weight: float = Field(default=0.5, ge=0, le=1)


def _scale(model: nn.Module, factor: float) -> nn.Module:
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(factor)
    return model


def scale(model: nn.Module, params: ScaleParams, _context: OperationContext) -> nn.Module:
    return _scale(model, params.factor)


def maybe_fail(model: nn.Module, params: FailParams, _context: OperationContext) -> nn.Module:
    if params.fail:
        raise ValueError("sweep.fail was told to fail")
    return _scale(model, 0.99)


def slow(model: nn.Module, params: SlowParams, _context: OperationContext) -> nn.Module:
    time.sleep(params.seconds)
    return _scale(model, 1.0 + 0.01 * (params.tag + 1))


def crash(model: nn.Module, params: CrashParams, _context: OperationContext) -> nn.Module:
    """Kill the process, as a segfault or the OOM killer would (only ever used in a worker)."""
    if params.crash:
        os._exit(3)
    return _scale(model, 0.98)


def crash_once(model: nn.Module, params: CrashOnceParams, _context: OperationContext) -> nn.Module:
    """Die on the first try only, as a node on a flaky machine would."""
    marker = Path(params.marker)
    if not marker.exists():
        marker.touch()
        os._exit(3)
    return _scale(model, 0.97)


def record_resources(
    model: nn.Module, params: RecordResourcesParams, _context: OperationContext
) -> nn.Module:
    """Write what Ray gave this node: proves a stage's resources reach its tasks."""
    import ray

    Path(params.marker).write_text(json.dumps(ray.get_runtime_context().get_assigned_resources()))
    return _scale(model, 1.0)


def hold_gil(model: nn.Module, params: HoldGilParams, _context: OperationContext) -> nn.Module:
    """Sleep in C *holding the GIL*, as a long native call can: no Python thread runs meanwhile."""
    if params.marker:
        Path(f"{params.marker}.{params.tag}.{os.getpid()}").touch()
    ctypes.PyDLL(ctypes.util.find_library("c")).sleep(params.seconds)
    return _scale(model, 1.0)


def blend(model: nn.Module, params: BlendParams, context: OperationContext) -> nn.Module:
    """Move the student's weights toward the teacher's: proves the teacher is the right one."""
    teacher = dict(context.teacher.named_parameters())
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.lerp_(teacher[name], params.weight)
    return model


for _operation in (
    Operation("sweep.scale", apply=scale, params=ScaleParams),
    Operation("sweep.fail", apply=maybe_fail, params=FailParams),
    Operation("sweep.slow", apply=slow, params=SlowParams),
    Operation("sweep.blend", apply=blend, params=BlendParams),
    Operation("sweep.crash", apply=crash, params=CrashParams),
    Operation("sweep.hold_gil", apply=hold_gil, params=HoldGilParams),
    Operation("sweep.crash_once", apply=crash_once, params=CrashOnceParams),
    Operation("sweep.record_resources", apply=record_resources, params=RecordResourcesParams),
):
    register_operation(_operation, replace=True)
