"""KEY=VALUE options (-p, -k): YAML scalars and flow lists, one parser for every command."""

from __future__ import annotations

import pytest

from compresslens.cli.params import parse_key_values
from compresslens.errors import CompressLensError


def test_values_are_yaml_scalars_and_flow_lists() -> None:
    parsed = parse_key_values(
        ["amount=0.5", "include=[block1, classifier]", "scope=global", "epochs=2", "fast=true"]
    )
    assert parsed == {
        "amount": 0.5,
        "include": ["block1", "classifier"],
        "scope": "global",
        "epochs": 2,
        "fast": True,
    }


def test_exponent_notation_is_a_number_not_a_string() -> None:
    """PyYAML reads `1e-3` as a string (YAML 1.1 wants `1.0e-3`); a learning rate is a number."""
    assert parse_key_values(["lr=1e-3", "wd=5E-4", "big=1e+6"]) == {
        "lr": 0.001,
        "wd": 0.0005,
        "big": 1e6,
    }


def test_an_empty_value_is_null_and_a_value_may_contain_equals_signs() -> None:
    assert parse_key_values(["limit=", "note='a=b'"]) == {"limit": None, "note": "a=b"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("amount", "KEY=VALUE"),
        ("=0.5", "KEY=VALUE"),
        ("include=[a, b", "include"),
    ],
)
def test_malformed_items_are_refused_with_the_option_named(item: str, message: str) -> None:
    with pytest.raises(CompressLensError, match=message) as raised:
        parse_key_values([item], option="--param")
    assert "--param" in str(raised.value)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(CompressLensError, match=r"amount.*twice"):
        parse_key_values(["amount=0.5", "amount=0.8"])
