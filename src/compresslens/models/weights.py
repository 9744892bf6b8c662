"""State dicts to and from safetensors bytes; never a pickle."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn

from compresslens.errors import InvalidWeightsError

TORCH_WEIGHTS_SUFFIXES = {".pt", ".pth", ".bin"}


def state_dict_to_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    """Serialize tensors to safetensors (tied tensors are stored once per name)."""
    tensors: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise InvalidWeightsError(
                f"state dict entry {name!r} is a {type(value).__name__}, not a tensor; "
                "compresslens stores tensors only"
            )
        if value.is_quantized:
            raise InvalidWeightsError(
                f"state dict entry {name!r} is a quantized tensor; store its int_repr, "
                "scale and zero point as plain tensors"
            )
        tensors[name] = value.detach().to("cpu").contiguous().clone()
    return safetensors_save(tensors)


def state_dict_from_bytes(data: bytes, source: str = "weights") -> dict[str, torch.Tensor]:
    try:
        return safetensors_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise InvalidWeightsError(
            f"{source} is not a valid safetensors file (corrupt or truncated?): {exc}"
        ) from exc


def shapes_from_safetensors_bytes(data: bytes) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors header alone (8-byte length, then JSON)."""
    try:
        length = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8 : 8 + length])
    except (struct.error, ValueError) as exc:
        raise InvalidWeightsError(f"not a safetensors header: {exc}") from exc
    return {name: tuple(entry["shape"]) for name, entry in header.items() if name != "__metadata__"}


def read_weights_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict from .safetensors, or from .pt/.pth/.bin with weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise InvalidWeightsError(f"weights file {path} does not exist")
    if path.suffix in TORCH_WEIGHTS_SUFFIXES:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InvalidWeightsError(_tensors_only_failure(path, exc)) from exc
        if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()
        ):
            raise InvalidWeightsError(f"{path} does not hold a flat state dict of tensors")
        return state
    return state_dict_from_bytes(path.read_bytes(), source=str(path))


def _tensors_only_failure(path: Path, exc: Exception) -> str:
    """Why a tensors-only load failed, without torch's advice to unpickle the file anyway."""
    pickled = re.search(r"GLOBAL (\S+)", str(exc))
    if pickled is None:
        return f"cannot read {path} as tensors only: {str(exc).splitlines()[0]}"
    return (
        f"cannot read {path} as tensors only: it holds a pickled object ({pickled.group(1)}), "
        "and compresslens never unpickles; save a state dict of tensors instead "
        "(torch.save(model.state_dict(), …) or safetensors.torch.save_file)"
    )


def load_state_into(model: nn.Module, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Strictly load `state`, naming every missing, unexpected or mis-shaped tensor."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{name} {tuple(state[name].shape)} vs model {tuple(expected[name].shape)}"
        for name in sorted(set(expected) & set(state))
        if isinstance(expected[name], torch.Tensor) and expected[name].shape != state[name].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{' …' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}")
        if mismatched:
            parts.append(f"shape mismatch {mismatched[:5]}")
        raise InvalidWeightsError("weights do not fit the model: " + "; ".join(parts))
    model.load_state_dict(dict(state), strict=True)
    return model
