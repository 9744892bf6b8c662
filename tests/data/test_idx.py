"""IDX reading and writing: round trips and every malformed file named in the error."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from compresslens.data.idx import read_idx, write_idx
from compresslens.errors import DataFormatError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _raw_idx(type_code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = bytes([0, 0, type_code, len(shape)])
    return header + b"".join(d.to_bytes(4, "big") for d in shape) + payload


def _write(path: Path, content: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip_keeps_values_dtype_and_shape(tmp_path: Path, dtype: type, name: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    write_idx(tmp_path / name, array)
    loaded = read_idx(tmp_path / name)
    assert loaded.dtype == np.dtype(dtype)  # native byte order
    assert loaded.shape == (2, 3, 4)
    np.testing.assert_array_equal(loaded, array)


def test_values_are_big_endian_on_disk(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.idx", np.array([1, 258], dtype=np.int16))
    assert (tmp_path / "a.idx").read_bytes() == _raw_idx(0x0B, (2,), b"\x00\x01\x01\x02")


def test_gzip_is_detected_by_magic_not_name(tmp_path: Path) -> None:
    content = _raw_idx(0x08, (3,), b"\x01\x02\x03")
    path = _write(tmp_path / "no-extension", content, compress=True)
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_loaded_array_is_writable(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.idx", np.zeros((2, 2), dtype=np.uint8))
    loaded = read_idx(tmp_path / "a.idx")
    loaded[0, 0] = 5
    assert loaded[0, 0] == 5


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
class TestMalformed:
    def test_truncated_payload(self, tmp_path: Path, compress: bool) -> None:
        path = _write(tmp_path / "f", _raw_idx(0x08, (2, 3), b"\x00" * 5), compress)
        with pytest.raises(DataFormatError, match=r"f is truncated.*needs 6 bytes.*found 5"):
            read_idx(path)

    def test_truncated_header(self, tmp_path: Path, compress: bool) -> None:
        path = _write(tmp_path / "f", bytes([0, 0, 8, 3]) + b"\x00\x00\x00\x02", compress)
        with pytest.raises(DataFormatError, match=r"truncated.*3 dimensions"):
            read_idx(path)

    def test_shorter_than_magic(self, tmp_path: Path, compress: bool) -> None:
        path = _write(tmp_path / "f", b"\x00\x00", compress)
        with pytest.raises(DataFormatError, match=r"truncated.*4-byte magic"):
            read_idx(path)

    def test_nonzero_leading_bytes(self, tmp_path: Path, compress: bool) -> None:
        content = b"\x01" + _raw_idx(0x08, (1,), b"\x00")[1:]
        path = _write(tmp_path / "f", content, compress)
        with pytest.raises(DataFormatError, match=r"bad magic.*first two bytes"):
            read_idx(path)

    def test_unknown_type_code(self, tmp_path: Path, compress: bool) -> None:
        path = _write(tmp_path / "f", _raw_idx(0x0A, (1,), b"\x00"), compress)
        with pytest.raises(DataFormatError, match=r"bad magic.*unknown type code 0x0A"):
            read_idx(path)

    def test_zero_dimensions(self, tmp_path: Path, compress: bool) -> None:
        path = _write(tmp_path / "f", _raw_idx(0x08, (), b"\x00"), compress)
        with pytest.raises(DataFormatError, match=r"bad magic.*zero dimensions"):
            read_idx(path)

    def test_trailing_bytes(self, tmp_path: Path, compress: bool) -> None:
        path = _write(tmp_path / "f", _raw_idx(0x0C, (2,), b"\x00" * 9), compress)
        with pytest.raises(DataFormatError, match=r"1 trailing bytes after the 8 bytes"):
            read_idx(path)


def test_cut_gzip_stream_is_reported(tmp_path: Path) -> None:
    compressed = gzip.compress(_raw_idx(0x08, (100,), bytes(range(100))))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.gz is a truncated or corrupt gzip"):
        read_idx(path)


def test_write_refuses_dtypes_idx_cannot_store(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"cannot store dtype int64"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    assert not (tmp_path / "a.idx").exists()


def test_write_refuses_scalars(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"1 to 255 dimensions"):
        write_idx(tmp_path / "a.idx", np.uint8(3))
