"""add-model's options read before the workspace is opened: shapes and which way is meant."""

from __future__ import annotations

import pytest

from compresslens.cli.model_sources import ModelRequest, check_request, parse_input_shape
from compresslens.errors import CompressLensError


@pytest.mark.parametrize(
    ("text", "shape"),
    [("1,28,28", [1, 28, 28]), ("[1, 28, 28]", [1, 28, 28]), (" 64 ", [64]), ("3,8,", [3, 8])],
)  # fmt: skip
def test_an_input_shape_is_sizes_separated_by_commas(text: str, shape: list[int]) -> None:
    assert parse_input_shape(text) == shape


@pytest.mark.parametrize("text", ["", "1x28x28", "1,,28", "-1,28", "1.5", "[]"])
def test_anything_else_is_refused_saying_it_is_one_instance(text: str) -> None:
    with pytest.raises(CompressLensError, match="without the batch dimension"):
        parse_input_shape(text)


def test_a_size_of_zero_is_refused() -> None:
    with pytest.raises(CompressLensError, match="has a size 0"):
        parse_input_shape("1,0")


def test_each_way_takes_its_own_options_only() -> None:
    check_request(ModelRequest("m", hf="folder", task="causal-lm", num_labels=2))
    check_request(
        ModelRequest("m", factory="a:b", factory_kwargs={"x": 1}, weights="w.pt", input_shape=[2])
    )
    with pytest.raises(CompressLensError, match="--num-labels goes with --hf, not with --factory"):
        check_request(ModelRequest("m", factory="a:b", num_labels=2))
    with pytest.raises(CompressLensError, match="--input-shape goes with --factory, not with --hf"):
        check_request(ModelRequest("m", hf="folder", input_shape=[2]))


def test_a_weights_file_is_named_by_a_format_read_without_pickle() -> None:
    check_request(ModelRequest("m", factory="a:b", weights="W.SAFETENSORS"))
    with pytest.raises(CompressLensError, match=r"\.safetensors or \.bin or \.pt or \.pth"):
        check_request(ModelRequest("m", factory="a:b", weights="w.pkl"))
