"""Reader and writer for the IDX format of MNIST-like datasets (gzip-compressed or raw).

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from compresslens.errors import DataFormatError

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype of the stored values.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MAGIC_SIZE = 4
_DIM_SIZE = 4
_MAX_NDIM = 255


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file into a native-endian array, refusing anything malformed.

    Gzip is detected by its magic bytes, not the file name, so renamed files still load.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    type_code, ndim = _parse_magic(path, data)
    shape = _parse_shape(path, data, ndim)
    dtype = IDX_DTYPES[type_code]
    offset = _MAGIC_SIZE + _DIM_SIZE * ndim
    _check_payload_length(path, len(data) - offset, shape, dtype)
    values = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as an IDX file (gzip-compressed when the name ends in .gz).

    Used by tests and tools that need Fashion-MNIST-shaped files; the write is atomic.
    """
    path = Path(path)
    array = np.asarray(array)
    type_code = _type_code_for(array.dtype)
    if not 1 <= array.ndim <= _MAX_NDIM:
        raise DataFormatError(
            f"cannot write {path}: IDX needs 1 to {_MAX_NDIM} dimensions, got {array.ndim}"
        )
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(IDX_DTYPES[type_code], copy=False).tobytes(order="C")
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    _write_atomically(path, payload)


def _read_file_bytes(path: Path) -> bytes:
    """Return the decompressed content of the file, whether gzip-compressed or raw."""
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(
            f"IDX file {path} is a truncated or corrupt gzip stream: {exc}"
        ) from None


def _parse_magic(path: Path, data: bytes) -> tuple[int, int]:
    """Return (type code, ndim) from the 4-byte magic, checking each byte."""
    if len(data) < _MAGIC_SIZE:
        raise DataFormatError(
            f"IDX file {path} is truncated: {len(data)} bytes, shorter than the 4-byte magic"
        )
    zero_a, zero_b, type_code, ndim = data[:_MAGIC_SIZE]
    if zero_a != 0 or zero_b != 0:
        raise DataFormatError(
            f"IDX file {path} has a bad magic {data[:_MAGIC_SIZE].hex()}: "
            "the first two bytes must be zero"
        )
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise DataFormatError(
            f"IDX file {path} has a bad magic {data[:_MAGIC_SIZE].hex()}: "
            f"unknown type code 0x{type_code:02X} (known: {known})"
        )
    if ndim == 0:
        raise DataFormatError(f"IDX file {path} has a bad magic: zero dimensions")
    return type_code, ndim


def _parse_shape(path: Path, data: bytes, ndim: int) -> tuple[int, ...]:
    """Return the dimension sizes that follow the magic."""
    header_size = _MAGIC_SIZE + _DIM_SIZE * ndim
    if len(data) < header_size:
        raise DataFormatError(
            f"IDX file {path} is truncated: its header declares {ndim} dimensions "
            f"({header_size} bytes) but the file holds {len(data)} bytes"
        )
    return struct.unpack_from(f">{ndim}I", data, _MAGIC_SIZE)


def _check_payload_length(
    path: Path, payload_size: int, shape: tuple[int, ...], dtype: np.dtype
) -> None:
    """Refuse a payload shorter (truncated) or longer (trailing bytes) than the header says."""
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if payload_size < expected:
        raise DataFormatError(
            f"IDX file {path} is truncated: shape {shape} of {dtype.itemsize}-byte values "
            f"needs {expected} bytes of data, found {payload_size}"
        )
    if payload_size > expected:
        raise DataFormatError(
            f"IDX file {path} has {payload_size - expected} trailing bytes after the "
            f"{expected} bytes of data that shape {shape} needs"
        )


def _type_code_for(dtype: np.dtype) -> int:
    """Return the IDX type code that stores values of this dtype exactly."""
    for code, idx_dtype in IDX_DTYPES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    supported = "uint8, int8, int16, int32, float32, float64"
    raise DataFormatError(f"IDX cannot store dtype {dtype}; supported: {supported}")


def _write_atomically(path: Path, payload: bytes) -> None:
    """Write to a temporary sibling and rename, so readers never see a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
