"""Records read the way the README shows them: `operation` is a mapping as well as a record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict

import pytest

from compresslens.records import ModelInfo, OperationInfo, plain


def operation() -> OperationInfo:
    return OperationInfo(
        name="prune.magnitude",
        params={"amount": 0.5, "scope": "global"},
        parents=[{"id": "abc", "role": "source"}],
        seed=3,
        library_versions={"torch": "2.0"},
        wall_time_s=0.25,
        status="ready",
        error=None,
    )


def model(op: OperationInfo | None) -> ModelInfo:
    return ModelInfo(
        id="m1",
        name="pruned",
        source="derived",
        status="ready",
        factory=None,
        factory_kwargs={},
        has_weights=True,
        operation=op,
        efficiency={"parameters": 10},
        metrics={"digits": {"accuracy": 0.9}},
        tags=["a"],
        notes=[],
        created_at="2024-01-01T00:00:00",
    )


def test_operation_reads_by_key_as_the_readme_json_shows_it() -> None:
    op = operation()
    assert op["name"] == "prune.magnitude"
    assert op["params"]["amount"] == 0.5
    assert op["seed"] == 3
    assert "seed" in op and "colour" not in op
    assert op.get("error") is None and op.get("colour", "-") == "-"
    assert isinstance(op, Mapping)


def test_operation_keys_are_the_json_fields_in_order() -> None:
    op = operation()
    assert list(op) == [
        "name",
        "params",
        "parents",
        "seed",
        "library_versions",
        "wall_time_s",
        "status",
        "error",
        "threads",
    ]
    assert len(op) == 9
    assert dict(op) == asdict(op)


def test_attribute_access_still_works_and_the_record_stays_frozen() -> None:
    op = operation()
    assert op.name == "prune.magnitude" and op.params == {"amount": 0.5, "scope": "global"}
    with pytest.raises(AttributeError):
        op.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        op["name"] = "other"  # type: ignore[index]


def test_an_unknown_key_raises_key_error_naming_the_keys() -> None:
    with pytest.raises(KeyError, match="params"):
        operation()["parameters"]


def test_operations_compare_field_by_field_as_records() -> None:
    assert operation() == operation()
    assert operation() != OperationInfo(**{**dict(operation()), "seed": 4})


def test_plain_and_to_dict_are_unchanged_by_the_mapping_view() -> None:
    info = model(operation())
    expected = asdict(info)
    assert plain(info) == expected
    assert info.to_dict() == expected
    assert json.loads(json.dumps(info.to_dict())) == expected
    assert plain(model(None))["operation"] is None


def test_a_model_operation_reads_through_the_model_record() -> None:
    info = model(operation())
    assert info.operation is not None
    assert info.operation["params"] == {"amount": 0.5, "scope": "global"}
    assert info.parent_ids == ["abc"]
