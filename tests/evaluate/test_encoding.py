"""The sparse + low-bit encoder: exact round trips and sizes that match the arithmetic."""

from __future__ import annotations

import math

import pytest
import torch

from compresslens.errors import CompressLensError, CorruptArtifactError
from compresslens.evaluate.encoding import (
    CSR_HEADER_BYTES,
    FORMATS,
    EncodedTensor,
    decode_tensor,
    encode_tensor,
    encoded_nbytes,
)

FLOAT_DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
INT_DTYPES = [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64]
SHAPES = [(), (0,), (3, 0), (1,), (17,), (5, 7), (4, 3, 5), (2, 3, 2, 2)]


def _bit_pattern(t: torch.Tensor) -> torch.Tensor:
    """A view of ``t`` whose equality is bit-for-bit equality (NaN and -0.0 included)."""
    width = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    return t.contiguous().view(width[t.element_size()]) if t.dtype != torch.bool else t


def _assert_identical(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert torch.equal(_bit_pattern(a), _bit_pattern(b))


def _random_tensor(
    shape: tuple[int, ...], dtype: torch.dtype, density: float, gen: torch.Generator
) -> torch.Tensor:
    if dtype.is_floating_point:
        values = torch.randn(shape, generator=gen).to(dtype)
    elif dtype == torch.bool:
        values = torch.ones(shape, dtype=torch.bool)
    else:
        info = torch.iinfo(dtype)
        low, high = max(info.min, -(2**40)), min(info.max, 2**40)
        values = torch.randint(low, high, shape, generator=gen, dtype=torch.int64).to(dtype)
    keep = torch.rand(shape, generator=gen) < density
    return torch.where(keep, values, torch.zeros((), dtype=dtype))


@pytest.mark.parametrize("dtype", [*FLOAT_DTYPES, *INT_DTYPES, torch.bool])
@pytest.mark.parametrize("density", [0.0, 0.03, 0.5, 1.0])
def test_every_format_round_trips_random_tensors_exactly(
    dtype: torch.dtype, density: float
) -> None:
    gen = torch.Generator().manual_seed(0)
    for shape in SHAPES:
        t = _random_tensor(shape, dtype, density, gen)
        for fmt in FORMATS:
            encoded = encode_tensor(t, format=fmt)
            assert encoded.format == fmt
            _assert_identical(decode_tensor(encoded), t)
        _assert_identical(decode_tensor(encode_tensor(t)), t)


def test_negative_zero_counts_as_zero_and_nan_keeps_its_bits() -> None:
    nan_with_payload = torch.tensor([0x7FC00123], dtype=torch.int32).view(torch.float32)
    t = torch.cat([torch.tensor([0.0, -0.0, 0.0, float("nan"), float("-inf")]), nan_with_payload])
    for dtype in FLOAT_DTYPES:
        typed = t.to(dtype) if dtype != torch.float32 else t
        _assert_identical(decode_tensor(encode_tensor(typed, format="dense")), typed)
        positive_zeros = typed.where(typed != 0, 0.0)
        for fmt in ("bitmask", "csr"):
            _assert_identical(decode_tensor(encode_tensor(typed, format=fmt)), positive_zeros)
    # -0.0 is a zero: the bitmask stores only NaN, -inf and the NaN with a payload
    assert encode_tensor(t, format="bitmask").nbytes == 1 + 3 * 4


def test_masked_pruning_zeros_are_all_sparse() -> None:
    weight = torch.randn(100, 100)
    pruned = weight * (weight.abs() > weight.abs().median())  # negatives become -0.0
    assert torch.signbit(pruned[pruned == 0]).any()
    assert encoded_nbytes(pruned) == 10_000 // 8 + int((pruned != 0).sum()) * 4


def test_non_contiguous_input_round_trips() -> None:
    t = torch.arange(24, dtype=torch.float32).reshape(4, 6).t()[::2]
    _assert_identical(decode_tensor(encode_tensor(t)), t.contiguous())


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.int64])
def test_low_bit_integers_round_trip_in_every_format(bits: int, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(bits)
    low, high = -(1 << (bits - 1)), 1 << (bits - 1)
    t = torch.randint(low, high, (9, 13), generator=gen, dtype=dtype)
    for fmt in FORMATS:
        encoded = encode_tensor(t, bits=bits, format=fmt)
        assert encoded.bits == bits
        _assert_identical(decode_tensor(encoded), t)


def test_unsigned_tensors_use_the_unsigned_range() -> None:
    t = torch.tensor([0, 15, 7, 1], dtype=torch.uint8)
    encoded = encode_tensor(t, bits=4, format="dense")
    assert encoded.nbytes == 2
    _assert_identical(decode_tensor(encoded), t)
    with pytest.raises(CompressLensError, match="does not fit 4-bit unsigned"):
        encode_tensor(torch.tensor([16], dtype=torch.uint8), bits=4)


def test_byte_aligned_narrowing_of_wide_integers() -> None:
    t = torch.tensor([[-128, 127], [0, 5]], dtype=torch.int32)
    encoded = encode_tensor(t, bits=8, format="dense")
    assert encoded.nbytes == 4
    _assert_identical(decode_tensor(encoded), t)


def test_int4_values_pack_two_per_byte() -> None:
    t = torch.tensor([[-8, 7, -1, 3], [1, 2, -3, -4]], dtype=torch.int8)
    encoded = encode_tensor(t, bits=4)
    assert encoded.format == "dense"
    assert encoded.nbytes == 4
    assert encoded.payload[0] == (7 << 4) | 0x8  # first value in the low nibble
    assert encoded_nbytes(torch.full((1001,), -3, dtype=torch.int8), bits=4) == 501


def test_dense_tensor_stays_dense_at_numel_times_element_size() -> None:
    t = torch.randn(64, 33)
    encoded = encode_tensor(t)
    assert encoded.format == "dense"
    assert encoded.nbytes == 64 * 33 * 4
    assert encoded_nbytes(t.to(torch.bfloat16)) == 64 * 33 * 2


def test_ninety_percent_zeros_picks_the_bitmask_at_its_exact_size() -> None:
    t = torch.zeros(1000, 1000)
    nonzero_at = torch.randperm(1_000_000, generator=torch.Generator().manual_seed(1))[:100_000]
    t.view(-1)[nonzero_at] = torch.rand(100_000) + 1.0
    encoded = encode_tensor(t)
    assert encoded.format == "bitmask"
    assert encoded.nbytes == 125_000 + 100_000 * 4
    assert encoded_nbytes(t) == encoded.nbytes
    # the CSR alternative: header, 1001 uint32 row pointers, uint16 columns, values
    csr = encode_tensor(t, format="csr")
    assert csr.nbytes == CSR_HEADER_BYTES + 1001 * 4 + 100_000 * 2 + 100_000 * 4


def test_csr_wins_for_a_very_sparse_matrix() -> None:
    t = torch.zeros(1000, 1000)
    t[torch.arange(0, 1000, 10), torch.arange(0, 1000, 10)] = 1.0  # 100 non-zeros
    encoded = encode_tensor(t)
    assert encoded.format == "csr"
    # row pointers hold at most 100 → uint8; columns up to 990 → uint16
    assert encoded.nbytes == CSR_HEADER_BYTES + 1001 * 1 + 100 * 2 + 100 * 4
    assert encoded.nbytes < encode_tensor(t, format="bitmask").nbytes
    _assert_identical(decode_tensor(encoded), t)


def test_all_zero_and_empty_tensors_are_tiny() -> None:
    assert encoded_nbytes(torch.empty(0, 5)) == 0
    assert encoded_nbytes(torch.zeros(())) == 1  # one mask byte, no values
    zeros = torch.zeros(4096, 4096, dtype=torch.float16)
    assert encoded_nbytes(zeros) == CSR_HEADER_BYTES + 4097
    assert math.prod(encode_tensor(torch.zeros(2, 0, 3)).shape) == 0


def test_int4_out_of_range_is_refused_with_the_range_in_the_message() -> None:
    with pytest.raises(CompressLensError, match=r"\[-9, 7\].*4-bit signed"):
        encode_tensor(torch.tensor([-9, 7], dtype=torch.int8), bits=4)


def test_low_bits_for_floating_tensors_are_refused() -> None:
    with pytest.raises(CompressLensError, match="never converted lossily"):
        encode_tensor(torch.randn(4), bits=8)


@pytest.mark.parametrize("bits", [0, 9, 12, 16])
def test_unsupported_bit_widths_are_refused(bits: int) -> None:
    with pytest.raises(CompressLensError):
        encode_tensor(torch.zeros(4, dtype=torch.int8), bits=bits)


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_quantized_tensors_must_be_encoded_through_int_repr() -> None:
    q = torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8)
    with pytest.raises(CompressLensError, match="int_repr"):
        encode_tensor(q)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(CompressLensError, match="unknown encoding format"):
        encode_tensor(torch.zeros(3), format="coo")


def test_truncated_payload_is_reported_as_corrupt() -> None:
    t = torch.zeros(100, 100)
    t[3, 4] = 2.0
    for fmt in FORMATS:
        encoded = encode_tensor(t, format=fmt)
        broken = EncodedTensor(
            fmt, encoded.shape, encoded.dtype, encoded.bits, encoded.payload[:-1]
        )
        with pytest.raises(CorruptArtifactError):
            decode_tensor(broken)
