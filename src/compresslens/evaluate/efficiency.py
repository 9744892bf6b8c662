"""Sizes of a model: parameters, non-zeros, and bytes as dense vs as a real encoding.

Quantized ``torch.ao`` modules keep their weights in packed parameters that
``named_parameters()`` does not list; they are read through ``module.weight()`` /
``module.bias()`` (dynamic RNNs: ``get_weight()`` / ``get_bias()``).
Masked pruning (``torch.nn.utils.prune``) keeps ``weight_orig`` and ``weight_mask``; its
non-zeros are those of the masked weight the module really uses.
torchao quantized weights are tensor subclasses (``Int8Tensor``, ``IntxUnpackedToInt8Tensor``)
that look like float tensors of the weight's shape; they are sized by their inner tensors
(``qdata``, ``scale``, ``zero_point``), int4 values kept in int8 counting 4 bits each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import is_traceable_wrapper_subclass

from compresslens.errors import CompressLensError
from compresslens.evaluate.encoding import dtype_name, encode_tensor

PRUNE_ORIG_SUFFIX = "_orig"
PRUNE_MASK_SUFFIX = "_mask"
_PACKED_KEY = "_packed_params"
_QUANTIZED_PACKAGE = "torch.ao.nn."
_DYNAMIC_PACKAGE = "torch.ao.nn.quantized.dynamic."
_SUBCLASS_VALUES = "qdata"
_INTEGER_BITS = re.compile(r"^u?int(\d+)$")


# ------------------------------------------------------------------ quantized modules


def is_packed_quantized(module: nn.Module) -> bool:
    """True for torch.ao quantized modules whose weights hide in packed parameters."""
    if not type(module).__module__.startswith(_QUANTIZED_PACKAGE):
        return False
    weight = getattr(module, "weight", None)
    if callable(weight) and not isinstance(weight, torch.Tensor):
        return True
    return type(module).__module__.startswith(_DYNAMIC_PACKAGE) and callable(
        getattr(module, "get_weight", None)
    )


def packed_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """The weights and biases a packed quantized module computes with, by local name."""
    if not is_packed_quantized(module):
        return {}
    if callable(getattr(module, "get_weight", None)) and not callable(
        getattr(module, "weight", None)
    ):
        found = {**module.get_weight(), **module.get_bias()}
    else:
        bias = getattr(module, "bias", None)
        found = {"weight": _packed_weight(module), "bias": bias() if callable(bias) else None}
    return {name: t.detach() for name, t in found.items() if isinstance(t, torch.Tensor)}


def packed_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype a packed quantized module stores its weight in (qint8, float16, ...)."""
    dtype = getattr(getattr(module, _PACKED_KEY, None), "dtype", None)
    return dtype if isinstance(dtype, torch.dtype) else None


def _packed_weight(module: nn.Module) -> torch.Tensor:
    """``module.weight()`` at its stored width: fp16 dynamic Linear unpacks to float32."""
    weight = module.weight()
    stored = packed_dtype(module)
    if stored is not None and stored.is_floating_point and weight.dtype != stored:
        return weight.to(stored)
    return weight


def module_weight(module: nn.Module) -> torch.Tensor | None:
    """The weight a module multiplies by (masked if pruned, unpacked if quantized), if any."""
    if is_packed_quantized(module):
        return packed_tensors(module).get("weight")
    weight = getattr(module, "weight", None)
    return weight.detach() if isinstance(weight, torch.Tensor) else None


def count_nonzero(t: torch.Tensor) -> int:
    """Non-zero elements; for a quantized tensor, those that dequantize to non-zero."""
    if t.is_quantized or is_quantized_subclass(t):
        return int(torch.count_nonzero(t.dequantize()))
    return int(torch.count_nonzero(t.detach()))


# ------------------------------------------------------------ torchao tensor subclasses


def is_quantized_subclass(t: object) -> bool:
    """True for torchao quantized tensors: wrapper subclasses that can dequantize."""
    return (
        isinstance(t, torch.Tensor)
        and is_traceable_wrapper_subclass(t)
        and callable(getattr(t, "dequantize", None))
    )


def dtype_bits(dtype: torch.dtype) -> int:
    """Bits of one value of ``dtype``, sub-byte integers (``torch.int4``) included."""
    if dtype.is_floating_point:
        return torch.finfo(dtype).bits
    match = _INTEGER_BITS.match(str(dtype).removeprefix("torch."))
    return int(match.group(1)) if match else torch.empty((), dtype=dtype).element_size() * 8


def subclass_weight_bits(t: torch.Tensor) -> int:
    """Bits per quantized value: the target dtype (int4 in int8 → 4), else the container."""
    target = getattr(t, "target_dtype", None)
    if isinstance(target, torch.dtype):
        return dtype_bits(target)
    values = getattr(t, _SUBCLASS_VALUES, None)
    if isinstance(values, torch.Tensor):
        return dtype_bits(values.dtype)
    return dtype_bits(t.dtype)


def subclass_quantizes_activations(t: torch.Tensor) -> bool:
    """Whether the weight also quantizes its input (dynamic int8), not only itself."""
    return any(
        getattr(t, name, None) is not None
        for name in ("act_quant_kwargs", "activation_quantization")
    )


def subclass_entries(name: str, t: torch.Tensor) -> Iterator[tuple[str, torch.Tensor, int | None]]:
    """Inner tensors of a torchao tensor as ``name.inner``, with the bits their values use."""
    inner_names, _ = t.__tensor_flatten__()
    for inner in inner_names:
        value = getattr(t, inner)
        if is_quantized_subclass(value):
            yield from subclass_entries(f"{name}.{inner}", value)
            continue
        narrower = inner == _SUBCLASS_VALUES and subclass_weight_bits(t) < dtype_bits(value.dtype)
        yield f"{name}.{inner}", value, subclass_weight_bits(t) if narrower else None


# ------------------------------------------------------------------------ parameters


def _effective_parameter(model: nn.Module, name: str, param: torch.Tensor) -> torch.Tensor:
    """The tensor a parameter stands for: ``w_orig`` of a pruned module stands for ``w``."""
    owner_name, _, local = name.rpartition(".")
    if not local.endswith(PRUNE_ORIG_SUFFIX):
        return param
    owner = model.get_submodule(owner_name)
    base = local.removesuffix(PRUNE_ORIG_SUFFIX)
    masked = getattr(owner, base, None)
    has_mask = isinstance(getattr(owner, base + PRUNE_MASK_SUFFIX, None), torch.Tensor)
    return masked if has_mask and isinstance(masked, torch.Tensor) else param


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Total and non-zero parameters, packed quantized weights and tied weights counted once.

    These are the figures a pruning or quantization claim is checked against.
    """
    total = nonzero = 0
    for name, param in model.named_parameters():  # deduplicates tied parameters
        total += param.numel()
        nonzero += count_nonzero(_effective_parameter(model, name, param))
    for module in model.modules():
        for tensor in packed_tensors(module).values():
            total += tensor.numel()
            nonzero += count_nonzero(tensor)
    return total, nonzero


def model_state_for_size(model: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors a model's size is made of, for :func:`storage_bytes`.

    Masked pruning is folded (``w_orig``/``w_mask`` → the masked ``w``) and packed quantized
    parameters are unpacked to ``<module>.weight`` / ``<module>.bias``.
    """
    state = {
        name: value
        for name, value in model.state_dict().items()
        if isinstance(value, torch.Tensor) and f".{_PACKED_KEY}." not in f".{name}"
    }
    for module_name, module in model.named_modules():
        prefix = f"{module_name}." if module_name else ""
        for local, tensor in packed_tensors(module).items():
            state[prefix + local] = tensor
    return _fold_pruning_masks(model, state)


def _fold_pruning_masks(
    model: nn.Module, state: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    folded = dict(state)
    for name in state:
        if not name.endswith(PRUNE_ORIG_SUFFIX):
            continue
        base = name.removesuffix(PRUNE_ORIG_SUFFIX)
        if base + PRUNE_MASK_SUFFIX not in state:
            continue
        effective = _effective_parameter(model, name, state[name])
        del folded[name], folded[base + PRUNE_MASK_SUFFIX]
        folded[base] = effective.detach()
    return folded


# --------------------------------------------------------------------------- storage


@dataclass
class StorageReport:
    """Bytes of a state dict: as dense tensors and as their smallest lossless encoding."""

    dense_bytes: int = 0
    compressed_bytes: int = 0
    per_tensor: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def compression_ratio(self) -> float:
        """Dense bytes over compressed bytes (1.0 for an empty state dict)."""
        return self.dense_bytes / self.compressed_bytes if self.compressed_bytes else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return {**asdict(self), "compression_ratio": self.compression_ratio}


def _flatten_entries(name: str, value: Any) -> Iterator[tuple[str, Any, int | None]]:
    """Tensors inside tuples/lists (torch.ao packed parameters) get ``name.0``, ``name.1``;
    torchao tensors their inner tensors (``name.qdata``, ...), with the bits values use."""
    if isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _flatten_entries(f"{name}.{index}", item)
    elif is_quantized_subclass(value):
        yield from subclass_entries(name, value)
    else:
        yield name, value, None


def _storage_key(t: torch.Tensor) -> tuple[Any, ...]:
    """Identifies tensors that are the same memory (tied weights saved under two names)."""
    if t.is_quantized or t.numel() == 0:
        return ("unshared", id(t))
    return (
        t.untyped_storage().data_ptr(),
        t.storage_offset(),
        tuple(t.shape),
        tuple(t.stride()),
        t.dtype,
    )


def _qparams(t: torch.Tensor) -> list[torch.Tensor]:
    """A quantized tensor's scale and zero-point, at the width torch keeps them."""
    if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        scale = torch.tensor([t.q_scale()], dtype=torch.float64)
        return [scale, torch.tensor([t.q_zero_point()], dtype=torch.int64)]
    if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        return [t.q_per_channel_scales(), t.q_per_channel_zero_points()]
    raise CompressLensError(f"cannot size a quantized tensor with qscheme {t.qscheme()}")


def _plain_tensor_row(name: str, t: torch.Tensor, bits: int | None) -> dict[str, Any]:
    encoded = encode_tensor(t, bits=bits)
    return {
        "name": name,
        "shape": list(t.shape),
        "dtype": dtype_name(t.dtype),
        "bits": encoded.bits,
        "numel": t.numel(),
        "nonzero": count_nonzero(t),
        "dense_bytes": t.numel() * t.element_size(),
        "compressed_bytes": encoded.nbytes,
        "format": encoded.format,
        "qparams_bytes": 0,
    }


def _quantized_tensor_row(name: str, t: torch.Tensor, bits: int | None) -> dict[str, Any]:
    values = t.int_repr()
    encoded = encode_tensor(values, bits=bits)
    qparams = _qparams(t)
    dense_qparams = sum(p.numel() * p.element_size() for p in qparams)
    encoded_qparams = sum(encode_tensor(p).nbytes for p in qparams)
    return {
        "name": name,
        "shape": list(t.shape),
        "dtype": dtype_name(t.dtype),
        "bits": encoded.bits,
        "numel": t.numel(),
        "nonzero": count_nonzero(t),
        "dense_bytes": values.numel() * values.element_size() + dense_qparams,
        "compressed_bytes": encoded.nbytes + encoded_qparams,
        "format": encoded.format,
        "qparams_bytes": encoded_qparams,
    }


def _tensor_row(name: str, t: torch.Tensor, bits: int | None) -> dict[str, Any]:
    if t.is_quantized:
        return _quantized_tensor_row(name, t, bits)
    return _plain_tensor_row(name, t.detach(), bits)


def storage_bytes(
    state_dict: Mapping[str, Any], bits: Mapping[str, int] | None = None
) -> StorageReport:
    """Bytes of every tensor dense and as its smallest lossless sparse/low-bit encoding.

    ``bits`` names tensors whose values use fewer bits than their container (int4 kept in
    int8). Quantized tensors count as ``int_repr()`` plus scale/zero-point (float64/int64,
    as torch holds them); tensors inside tuples (packed parameters) are sized as
    ``name.0``, ``name.1``; torchao tensors as their inner tensors ``name.qdata``,
    ``name.scale``, ... (int4 values in int8 at 4 bits unless ``bits`` says otherwise);
    other non-tensor entries and tensors sharing storage with an earlier entry (tied
    weights) are skipped with a note.
    """
    overrides = dict(bits or {})
    report = StorageReport()
    seen: dict[tuple[Any, ...], str] = {}
    for key, entry in state_dict.items():
        for name, value, implied_bits in _flatten_entries(key, entry):
            bits_override = overrides.pop(name, implied_bits)
            if not isinstance(value, torch.Tensor):
                report.notes.append(f"{name}: skipped, not a tensor ({type(value).__name__})")
                continue
            storage = _storage_key(value)
            if storage in seen:
                report.notes.append(f"{name}: skipped, shares storage with {seen[storage]}")
                continue
            seen[storage] = name
            row = _tensor_row(name, value, bits_override)
            report.per_tensor.append(row)
            report.dense_bytes += row["dense_bytes"]
            report.compressed_bytes += row["compressed_bytes"]
    if overrides:
        raise CompressLensError(
            f"bits given for tensors not in the state dict: {sorted(overrides)}"
        )
    return report
