"""A real sparse + low-bit tensor encoder: "compressed bytes" is what an encoding takes.

Three layouts, all little-endian, chosen by size (ties go to the simpler one):

* ``dense``   — every element, bit-packed at ``bits`` bits: ``ceil(numel * bits / 8)`` bytes.
* ``bitmask`` — one bit per element (1 = stored), ``ceil(numel / 8)`` bytes, then the
  non-zero values bit-packed: ``ceil(nnz * bits / 8)`` bytes.
* ``csr``     — the tensor viewed 2-D (0-d as ``[1, 1]``, 1-d as ``[1, n]``, otherwise
  ``[shape[0], rest]``): a 1-byte header naming the two index widths, ``rows + 1`` row
  pointers, ``nnz`` column indices (each array in the narrowest of 1/2/4/8-byte unsigned
  integers that holds its largest value), then the non-zero values bit-packed.

``EncodedTensor.nbytes`` is ``len(payload)``: the descriptive metadata (format, shape, dtype,
bits) is not counted, just as a dense tensor's size is ``numel * element_size`` without
its file header; the CSR index-width byte *is* in the payload and so is counted.

"Zero" means a value equal to zero. For floating tensors that includes ``-0.0``, which
the sparse layouts decode as ``+0.0`` (dense keeps every bit): masked pruning
(``weight_orig * mask``) turns every pruned negative weight into ``-0.0``, and storing
those would hide half of a pruned model's sparsity. Apart from the sign of zero the round
trip is bit-exact, NaN payloads included; for complex tensors only an all-zero bit pattern
is zero, so they round-trip exactly. Floating values are stored at their own width (no
lossy conversion); integer tensors may be stored narrower (``bits`` < element bits) when
every value fits, e.g. int4 values in an int8 tensor pack two per byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from compresslens.errors import CompressLensError, CorruptArtifactError

FORMATS: tuple[str, ...] = ("dense", "bitmask", "csr")
CSR_HEADER_BYTES = 1
_INDEX_WIDTHS: tuple[int, ...] = (1, 2, 4, 8)
_PATTERN_DTYPES: dict[int, torch.dtype] = {
    1: torch.int8,
    2: torch.int16,
    4: torch.int32,
    8: torch.int64,
}


@dataclass(frozen=True)
class EncodedTensor:
    """One tensor in one of the layouts above; ``payload`` holds every stored byte."""

    format: str
    shape: tuple[int, ...]
    dtype: str
    bits: int
    payload: bytes

    @property
    def nbytes(self) -> int:
        """Bytes the encoding occupies: the payload (metadata is not counted, see module)."""
        return len(self.payload)

    @property
    def numel(self) -> int:
        """Number of elements of the original tensor."""
        return math.prod(self.shape)


# ---------------------------------------------------------------------------- dtypes


def dtype_name(dtype: torch.dtype) -> str:
    """Name of a torch dtype without the ``torch.`` prefix, as stored in EncodedTensor."""
    return str(dtype).removeprefix("torch.")


def dtype_from_name(name: str) -> torch.dtype:
    """The torch dtype an EncodedTensor names, so decoding can rebuild it."""
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise CorruptArtifactError(f"encoded tensor names an unknown dtype {name!r}")
    return dtype


def element_bits(dtype: torch.dtype) -> int:
    """Bits one element of ``dtype`` takes in memory (bool counts as 8)."""
    return torch.empty((), dtype=dtype).element_size() * 8


def _is_integer(dtype: torch.dtype) -> bool:
    return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)


def _is_quantized(dtype: torch.dtype) -> bool:
    return dtype in (torch.qint8, torch.quint8, torch.qint32, torch.quint4x2, torch.quint2x4)


def _value_numpy_dtype(dtype: torch.dtype, width_bytes: int) -> np.dtype:
    """Numpy dtype whose integers carry the tensor's stored values (signed or not)."""
    signed = _is_integer(dtype) and dtype.is_signed
    return np.dtype(f"<{'i' if signed else 'u'}{width_bytes}")


def _check_encodable_dtype(dtype: torch.dtype) -> None:
    if _is_quantized(dtype):
        raise CompressLensError(
            f"cannot encode a quantized tensor ({dtype_name(dtype)}) directly; "
            "encode its int_repr() and count its scale/zero-point separately"
        )
    size = torch.empty((), dtype=dtype).element_size()
    if size not in _PATTERN_DTYPES:
        raise CompressLensError(
            f"cannot encode {dtype_name(dtype)}: elements of {size} bytes are not supported"
        )


def resolve_bits(dtype: torch.dtype, bits: int | None) -> int:
    """The bit width values are stored at; refuse widths that would lose information."""
    full = element_bits(dtype)
    if bits is None or bits == full:
        return full
    if not _is_integer(dtype) and dtype != torch.bool:
        raise CompressLensError(
            f"bits={bits} requested for a {dtype_name(dtype)} tensor: floating values are "
            f"stored at their own width ({full} bits), never converted lossily"
        )
    if not 1 <= bits < full:
        raise CompressLensError(
            f"bits={bits} is out of range for {dtype_name(dtype)} (1 to {full} bits)"
        )
    if bits > 8 and bits % 8:
        raise CompressLensError(
            f"bits={bits} is not supported: use 1 to 8 bits or a whole number of bytes"
        )
    return bits


def _value_range(dtype: torch.dtype, bits: int) -> tuple[int, int]:
    if _is_integer(dtype) and dtype.is_signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _check_values_fit(values: np.ndarray, dtype: torch.dtype, bits: int) -> None:
    if values.size == 0:
        return
    low, high = _value_range(dtype, bits)
    vmin, vmax = int(values.min()), int(values.max())
    if vmin < low or vmax > high:
        kind = "signed" if low < 0 else "unsigned"
        raise CompressLensError(
            f"values of this {dtype_name(dtype)} tensor span [{vmin}, {vmax}], which does not "
            f"fit {bits}-bit {kind} integers [{low}, {high}]; pass a wider bits value"
        )


def _tensor_values(t: torch.Tensor) -> np.ndarray:
    """The tensor's elements, flat, as integers holding their exact bit patterns."""
    flat = t.detach().to("cpu").contiguous().reshape(-1)
    size = flat.element_size()
    pattern = flat.view(_PATTERN_DTYPES[size]).numpy()
    return pattern.view(_value_numpy_dtype(t.dtype, size))


def _tensor_from_values(
    values: np.ndarray, dtype: torch.dtype, shape: tuple[int, ...]
) -> torch.Tensor:
    size = torch.empty((), dtype=dtype).element_size()
    signed = np.ascontiguousarray(values).view(np.dtype(f"<i{size}")).astype(f"=i{size}")
    return torch.from_numpy(signed.copy()).view(dtype).reshape(shape)


# ------------------------------------------------------------------------ bit packing


def packed_nbytes(count: int, bits: int) -> int:
    """Bytes that ``count`` values take when packed at ``bits`` bits each."""
    return (count * bits + 7) // 8


def pack_values(values: np.ndarray, bits: int) -> bytes:
    """Pack integers at ``bits`` bits each, little-endian, first value in the lowest bits."""
    if bits % 8 == 0:
        width = bits // 8
        return values.astype(f"<{values.dtype.kind}{width}", copy=False).tobytes()
    mask = np.uint64((1 << bits) - 1)
    low = values.astype(np.int64).view(np.uint64) & mask
    padded = np.zeros(-(-low.size // 8) * 8, dtype=np.uint64)
    padded[: low.size] = low
    shifts = np.arange(8, dtype=np.uint64) * np.uint64(bits)
    words = np.bitwise_or.reduce(padded.reshape(-1, 8) << shifts, axis=1)
    # eight values of `bits` bits fill exactly `bits` bytes of each 64-bit word
    block_bytes = words.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :bits]
    return block_bytes.tobytes()[: packed_nbytes(values.size, bits)]


def unpack_values(data: bytes, count: int, bits: int, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`pack_values`: ``count`` integers of numpy ``dtype``."""
    if bits % 8 == 0:
        width = bits // 8
        kind = dtype.kind
        narrow = np.frombuffer(data, dtype=f"<{kind}{width}", count=count)
        return narrow.astype(dtype)
    blocks = -(-count // 8)
    block_bytes = np.zeros(blocks * bits, dtype=np.uint8)
    block_bytes[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    raw = np.zeros((blocks, 8), dtype=np.uint8)
    raw[:, :bits] = block_bytes.reshape(blocks, bits)
    words = raw.reshape(-1).view("<u8")
    shifts = np.arange(8, dtype=np.uint64) * np.uint64(bits)
    mask = np.uint64((1 << bits) - 1)
    low = ((words[:, None] >> shifts) & mask).reshape(-1)[:count].astype(np.int64)
    if dtype.kind == "i":
        low = np.where(low >= (1 << (bits - 1)), low - (1 << bits), low)
    return low.astype(dtype)


def _unpack_exact(data: bytes, count: int, bits: int, dtype: np.dtype) -> np.ndarray:
    if len(data) != packed_nbytes(count, bits):
        raise CorruptArtifactError(
            f"encoded values take {len(data)} bytes, expected {packed_nbytes(count, bits)}"
        )
    return unpack_values(data, count, bits, dtype)


# ---------------------------------------------------------------------------- layouts


def _csr_matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """How CSR views a tensor as a matrix: 0-d as 1×1, 1-d as one row, else [shape[0], rest]."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return 1, shape[0]
    return shape[0], math.prod(shape[1:])


def _index_width(largest: int) -> int:
    for width in _INDEX_WIDTHS:
        if largest < 1 << (8 * width):
            return width
    raise CompressLensError(f"index {largest} does not fit in 64 bits")


def _encode_dense(values: np.ndarray, bits: int) -> bytes:
    return pack_values(values, bits)


def _stored_mask(values: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Which elements an encoding stores: the non-zero ones (±0.0 both count as zero)."""
    if dtype.is_floating_point:
        magnitude_bits = np.array((1 << (values.dtype.itemsize * 8 - 1)) - 1, dtype=values.dtype)
        return (values & magnitude_bits) != 0
    return values != 0


def _encode_bitmask(values: np.ndarray, stored: np.ndarray, bits: int) -> bytes:
    mask = np.packbits(stored, bitorder="little").tobytes()
    return mask + pack_values(values[stored], bits)


def _encode_csr(values: np.ndarray, stored: np.ndarray, shape: tuple[int, ...], bits: int) -> bytes:
    rows, cols = _csr_matrix_shape(shape)
    stored = stored.reshape(rows, cols)
    row_pointers = np.concatenate([[0], np.cumsum(stored.sum(axis=1))]).astype(np.uint64)
    columns = np.nonzero(stored)[1].astype(np.uint64)
    nnz = int(row_pointers[-1])
    pointer_width = _index_width(nnz)
    column_width = _index_width(int(columns.max()) if nnz else 0)
    header = bytes([_INDEX_WIDTHS.index(pointer_width) | _INDEX_WIDTHS.index(column_width) << 4])
    return (
        header
        + row_pointers.astype(f"<u{pointer_width}").tobytes()
        + columns.astype(f"<u{column_width}").tobytes()
        + pack_values(values[stored.reshape(-1)], bits)
    )


def _decode_dense(e: EncodedTensor, dtype: np.dtype) -> np.ndarray:
    return _unpack_exact(e.payload, e.numel, e.bits, dtype)


def _decode_bitmask(e: EncodedTensor, dtype: np.dtype) -> np.ndarray:
    mask_bytes = packed_nbytes(e.numel, 1)
    if len(e.payload) < mask_bytes:
        raise CorruptArtifactError("bitmask encoding is shorter than its mask")
    mask_data = np.frombuffer(e.payload[:mask_bytes], dtype=np.uint8)
    stored = np.unpackbits(mask_data, count=e.numel, bitorder="little").astype(bool)
    out = np.zeros(e.numel, dtype=dtype)
    out[stored] = _unpack_exact(e.payload[mask_bytes:], int(stored.sum()), e.bits, dtype)
    return out


def _read_csr_indices(e: EncodedTensor, rows: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Row pointers, column indices and the offset where the packed values start."""
    if not e.payload:
        raise CorruptArtifactError("csr encoding has no header byte")
    code = e.payload[0]
    if code & 0x0F >= len(_INDEX_WIDTHS) or code >> 4 >= len(_INDEX_WIDTHS):
        raise CorruptArtifactError(f"csr encoding has an invalid header byte {code:#x}")
    pointer_width, column_width = _INDEX_WIDTHS[code & 0x0F], _INDEX_WIDTHS[code >> 4]
    offset = CSR_HEADER_BYTES + (rows + 1) * pointer_width
    if len(e.payload) < offset:
        raise CorruptArtifactError("csr encoding is shorter than its row pointers")
    pointers = np.frombuffer(e.payload[CSR_HEADER_BYTES:offset], dtype=f"<u{pointer_width}")
    nnz = int(pointers[-1])
    end = offset + nnz * column_width
    if len(e.payload) < end or np.any(np.diff(pointers.astype(np.int64)) < 0):
        raise CorruptArtifactError("csr encoding has inconsistent row pointers")
    columns = np.frombuffer(e.payload[offset:end], dtype=f"<u{column_width}")
    return pointers.astype(np.int64), columns.astype(np.int64), end


def _decode_csr(e: EncodedTensor, dtype: np.dtype) -> np.ndarray:
    rows, cols = _csr_matrix_shape(e.shape)
    pointers, columns, offset = _read_csr_indices(e, rows)
    if columns.size and int(columns.max()) >= cols:
        raise CorruptArtifactError("csr encoding has a column index outside the tensor")
    row_of_value = np.repeat(np.arange(rows, dtype=np.int64), np.diff(pointers))
    out = np.zeros(e.numel, dtype=dtype)
    out[row_of_value * cols + columns] = _unpack_exact(
        e.payload[offset:], columns.size, e.bits, dtype
    )
    return out


# ------------------------------------------------------------------------- public API


def _candidate_formats(format: str | None) -> tuple[str, ...]:
    if format is None:
        return FORMATS
    if format not in FORMATS:
        raise CompressLensError(f"unknown encoding format {format!r}; use one of {FORMATS}")
    return (format,)


def _size_lower_bound(fmt: str, stored: np.ndarray, shape: tuple[int, ...], bits: int) -> int:
    """Bytes a layout takes at the least (1-byte indices), to skip hopeless candidates."""
    nnz = int(np.count_nonzero(stored))
    if fmt == "bitmask":
        return packed_nbytes(stored.size, 1) + packed_nbytes(nnz, bits)
    if fmt == "csr":
        rows, _ = _csr_matrix_shape(shape)
        return CSR_HEADER_BYTES + rows + 1 + nnz + packed_nbytes(nnz, bits)
    return packed_nbytes(stored.size, bits)


def _encode_payload(
    fmt: str, values: np.ndarray, stored: np.ndarray, shape: tuple[int, ...], bits: int
) -> bytes:
    if fmt == "dense":
        return _encode_dense(values, bits)
    if fmt == "bitmask":
        return _encode_bitmask(values, stored, bits)
    return _encode_csr(values, stored, shape, bits)


def encode_tensor(
    t: torch.Tensor, bits: int | None = None, format: str | None = None
) -> EncodedTensor:
    """Encode ``t`` losslessly; with no ``format``, the smallest of dense/bitmask/csr.

    This is the size a pruned or low-bit tensor really takes, not a density formula.
    """
    _check_encodable_dtype(t.dtype)
    stored_bits = resolve_bits(t.dtype, bits)
    values = _tensor_values(t)
    if stored_bits < element_bits(t.dtype):
        _check_values_fit(values, t.dtype, stored_bits)
    shape = tuple(t.shape)
    best: EncodedTensor | None = None
    stored = _stored_mask(values, t.dtype)
    for fmt in _candidate_formats(format):
        if best is not None and _size_lower_bound(fmt, stored, shape, stored_bits) >= best.nbytes:
            continue
        payload = _encode_payload(fmt, values, stored, shape, stored_bits)
        if best is None or len(payload) < best.nbytes:
            best = EncodedTensor(fmt, shape, dtype_name(t.dtype), stored_bits, payload)
    assert best is not None
    return best


def decode_tensor(e: EncodedTensor) -> torch.Tensor:
    """Rebuild the exact tensor (same dtype, shape and bits) an encoding was made from."""
    dtype = dtype_from_name(e.dtype)
    _check_encodable_dtype(dtype)
    resolve_bits(dtype, e.bits)
    numpy_dtype = _value_numpy_dtype(dtype, torch.empty((), dtype=dtype).element_size())
    if e.format == "dense":
        values = _decode_dense(e, numpy_dtype)
    elif e.format == "bitmask":
        values = _decode_bitmask(e, numpy_dtype)
    elif e.format == "csr":
        values = _decode_csr(e, numpy_dtype)
    else:
        raise CorruptArtifactError(f"unknown encoding format {e.format!r}")
    return _tensor_from_values(values, dtype, e.shape)


def encoded_nbytes(t: torch.Tensor, bits: int | None = None) -> int:
    """Bytes of the smallest lossless encoding of ``t``: the honest compressed size."""
    return encode_tensor(t, bits=bits).nbytes
