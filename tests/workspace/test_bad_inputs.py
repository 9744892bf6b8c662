"""Bad input to the Python API: a CompressLensError that says what was wrong, nothing written,
and nothing stored as something other than what was given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import compresslens as cl
from compresslens.errors import CompressLensError, InvalidInputError
from factories import MLP_FACTORY, digits_mlp
from workspace_hash import workspace_hash

BAD_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("two\nlines", id="newline"),
    pytest.param("x" * 201, id="201-chars"),
    pytest.param("x" * 50_001, id="50001-chars"),
    pytest.param(42, id="not-a-string"),
]
BAD_SEEDS = [
    pytest.param(2**70, id="2**70"),
    pytest.param(2**63, id="2**63"),
    pytest.param(-5, id="negative"),
    pytest.param("3", id="string"),
    pytest.param(1.5, id="float"),
    pytest.param(True, id="bool"),
]


@pytest.fixture
def abc(workspace: cl.Workspace) -> cl.Workspace:
    """Dataset "abc" (12 instances of 3 classes, 4 features) and a 4→3 MLP "m"."""
    labels = np.repeat([0, 1, 2], 4)
    workspace.add_dataset("abc", np.zeros((12, 4), dtype=np.float32), labels, class_names="abc")
    model = digits_mlp(in_features=4, hidden=8, num_classes=3)
    kwargs = {"in_features": 4, "hidden": 8, "num_classes": 3}
    workspace.add_model(model, name="m", factory=MLP_FACTORY, factory_kwargs=kwargs)
    return workspace


def refused(ws: cl.Workspace, call: Any, error: type[Exception] = CompressLensError) -> str:
    """Run `call`, expect `error`, and check that the workspace did not change."""
    before = workspace_hash(ws.location)
    with pytest.raises(error) as raised:
        call()
    assert workspace_hash(ws.location) == before
    return str(raised.value)


# -- logits are stored as given ---------------------------------------------------------


def test_logged_logits_beyond_float16_are_stored_exactly(abc: cl.Workspace) -> None:
    logits = np.tile(np.array([2.0e6, -7.0e5, 1.0e5], dtype=np.float32), (12, 1))
    abc.log_model("big", outputs={"abc": logits})
    stored = abc.logits("big", "abc")
    assert torch.isfinite(stored).all()
    assert torch.equal(stored.float(), torch.from_numpy(logits))


def test_logged_logits_within_float16_are_kept_compact(abc: cl.Workspace) -> None:
    logits = np.tile(np.array([2.0, -1.0, 0.5], dtype=np.float32), (12, 1))
    abc.log_model("small", outputs={"abc": logits})
    assert abc.logits("small", "abc").dtype == torch.float16


def test_evaluated_logits_beyond_float16_are_stored_exactly(abc: cl.Workspace) -> None:
    model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([1.0e6, -3.0e5, 2.5]))
    abc.add_model(
        model,
        name="loud",
        factory="torch.nn:Linear",
        factory_kwargs={"in_features": 4, "out_features": 3},
    )
    abc.evaluate("loud", "abc", logits=True, latency=False)
    stored = abc.logits("loud", "abc")
    assert torch.equal(stored.float(), torch.tensor([[1.0e6, -3.0e5, 2.5]]).expand(12, 3))


# -- log_model: outputs and metrics ------------------------------------------------------


@pytest.mark.parametrize(
    "logits",
    [
        pytest.param([["a", "b", "c"]] * 12, id="strings"),
        pytest.param(np.full((12, 3), np.nan), id="nan"),
        pytest.param(np.full((12, 3), np.inf), id="inf"),
        pytest.param(np.zeros((12, 2)), id="too-few-classes"),
        pytest.param(np.zeros(12), id="one-dimensional"),
        pytest.param([[1, 2, 3], [4, 5]], id="ragged"),
        pytest.param(np.zeros((12, 3), dtype=complex), id="complex"),
        pytest.param("logits", id="a-string"),
        pytest.param(None, id="none"),
    ],
)
def test_logged_outputs_that_are_not_finite_logits_are_refused(
    abc: cl.Workspace, logits: Any
) -> None:
    refused(abc, lambda: abc.log_model("bad", outputs={"abc": logits}))


def test_outputs_that_are_not_a_mapping_are_refused(abc: cl.Workspace) -> None:
    message = refused(abc, lambda: abc.log_model("bad", outputs=[np.zeros((12, 3))]))
    assert "outputs" in message


@pytest.mark.parametrize(
    ("metrics", "says"),
    [
        ({"accuracy": float("nan")}, "finite"),
        ({"accuracy": float("inf")}, "finite"),
        ({"accuracy": "high"}, "number"),
        ({"accuracy": "0.5"}, "number"),
        ({"accuracy": None}, "number"),
        ({"accuracy": True}, "number"),
        ({"accuracy": 10**400}, "finite"),
        ({"abc": {"accuracy": float("nan")}}, "finite"),
        ({"": 1.0}, "empty"),
        ({"x" * 101: 1.0}, "too long"),
        ([("accuracy", 1.0)], "metrics must map"),
    ],
)
def test_metrics_that_are_not_finite_numbers_are_refused(
    abc: cl.Workspace, metrics: Any, says: str
) -> None:
    assert says in refused(abc, lambda: abc.log_model("bad", metrics=metrics), InvalidInputError)


def test_numpy_and_torch_scalars_are_metrics(abc: cl.Workspace) -> None:
    info = abc.log_model("ok", metrics={"a": np.float32(0.5), "b": torch.tensor(2), "c": 3})
    assert info.metrics["model"] == {"a": 0.5, "b": 2.0, "c": 3.0}


def test_an_operation_seed_out_of_range_is_refused(abc: cl.Workspace) -> None:
    call = lambda: abc.log_model(  # noqa: E731
        "child", parents=["m"], operation={"name": "prune.elsewhere", "seed": 2**70}
    )
    assert "2**63" in refused(abc, call, InvalidInputError)


def test_an_operation_that_is_not_a_mapping_is_refused(abc: cl.Workspace) -> None:
    refused(abc, lambda: abc.log_model("child", parents=["m"], operation="prune"))


# -- one name rule -----------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_model_name_is_refused_by_log_model(abc: cl.Workspace, name: Any) -> None:
    refused(abc, lambda: abc.log_model(name, metrics={"a": 1.0}), InvalidInputError)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_model_name_is_refused_by_add_model(abc: cl.Workspace, name: Any) -> None:
    model = digits_mlp()
    refused(abc, lambda: abc.add_model(model, name=name, factory=MLP_FACTORY), InvalidInputError)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_model_name_is_refused_by_compress(abc: cl.Workspace, name: Any) -> None:
    call = lambda: abc.compress("m", "prune.magnitude", amount=0.5, name=name)  # noqa: E731
    refused(abc, call, InvalidInputError)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_dataset_name_is_refused(abc: cl.Workspace, name: Any) -> None:
    data = np.zeros((2, 4), dtype=np.float32)
    refused(abc, lambda: abc.add_dataset(name, data, [0, 1]), InvalidInputError)


def test_a_name_of_200_characters_is_accepted(abc: cl.Workspace) -> None:
    assert abc.log_model("n" * 200, metrics={"a": 1.0}).name == "n" * 200


def test_a_long_error_message_repeats_only_the_start_of_a_long_name(abc: cl.Workspace) -> None:
    message = refused(abc, lambda: abc.log_model("x" * 50_001), InvalidInputError)
    assert len(message) < 200 and "50,001 characters" in message


def test_names_with_brackets_and_unicode_are_names(abc: cl.Workspace) -> None:
    for name in ("[/]", "[bold]x[/bold]", "modèle 模型 🙂"):
        assert abc.log_model(name, metrics={"a": 1.0}).name == name


def test_a_made_up_name_from_long_parameters_fits_the_rule(abc: cl.Workspace) -> None:
    child = abc.compress("m", "prune.magnitude", amount=0.5, exclude=["x" * 300])
    assert len(child.name) == 200 and child.name.endswith(f"#{child.id[:6]}")


# -- one seed rule -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_a_bad_seed_is_refused_by_compress(abc: cl.Workspace, seed: Any) -> None:
    call = lambda: abc.compress(  # noqa: E731
        "m", "prune.magnitude", amount=0.5, seed=seed, record_failure=True
    )
    refused(abc, call, InvalidInputError)


@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_a_bad_seed_is_refused_by_train_and_planned_id(abc: cl.Workspace, seed: Any) -> None:
    call = lambda: abc.train(MLP_FACTORY, dataset="abc", seed=seed)  # noqa: E731
    refused(abc, call, InvalidInputError)
    with pytest.raises(InvalidInputError):
        abc.planned_id("m", "prune.magnitude", amount=0.5, seed=seed)


def test_the_largest_seed_is_accepted(abc: cl.Workspace) -> None:
    child = abc.compress("m", "prune.magnitude", amount=0.5, seed=2**63 - 1)
    assert child.operation is not None and child.operation.seed == 2**63 - 1


def test_a_numpy_integer_seed_is_a_seed(abc: cl.Workspace) -> None:
    child = abc.compress("m", "prune.magnitude", amount=0.5, seed=np.int64(3))
    assert child.id == abc.planned_id("m", "prune.magnitude", amount=0.5, seed=3)


# -- workspace locations -----------------------------------------------------------------


def test_a_workspace_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(CompressLensError, match="not a folder"):
        cl.Workspace(tmp_path / "file" / "ws")
    with pytest.raises(CompressLensError, match="not a folder"):
        cl.Workspace(tmp_path / "file")


def test_a_garbage_database_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    garbage = bytes(range(256)) * 64
    (folder / "compresslens.db").write_bytes(garbage)
    with pytest.raises(CompressLensError, match="not a compresslens database"):
        cl.Workspace(folder)
    assert (folder / "compresslens.db").read_bytes() == garbage
    assert sorted(p.name for p in folder.iterdir()) == ["compresslens.db"]


def test_a_reversed_view_of_logits_is_logits(abc: cl.Workspace) -> None:
    logits = np.eye(3, dtype=np.float32)[np.repeat([0, 1, 2], 4)]
    info = abc.log_model("reversed", outputs={"abc": logits[::-1]})
    assert torch.equal(abc.logits(info, "abc").float(), torch.from_numpy(logits[::-1].copy()))


@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 0},
        {"batch_size": -1},
        {"batch_size": "8"},
        {"batch_size": True},
        {"threads": 0},
    ],
)
def test_a_batch_size_or_thread_count_that_is_not_positive_is_refused(
    abc: cl.Workspace, options: dict[str, Any]
) -> None:
    refused(abc, lambda: abc.evaluate("m", "abc", latency=False, **options), InvalidInputError)


@pytest.mark.parametrize("tag", ["", "t" * 101, "a\x00b", 7])
def test_a_bad_tag_is_refused_before_anything_is_computed(abc: cl.Workspace, tag: Any) -> None:
    refused(abc, lambda: abc.log_model("t", metrics={"a": 1.0}, tags=[tag]), InvalidInputError)
    call = lambda: abc.compress("m", "prune.magnitude", amount=0.5, tags=[tag])  # noqa: E731
    refused(abc, call, InvalidInputError)
    refused(abc, lambda: abc.tag("m", tag), InvalidInputError)


def test_one_string_of_tags_is_one_tag(abc: cl.Workspace) -> None:
    assert abc.log_model("t", metrics={"a": 1.0}, tags="baseline").tags == ["baseline"]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"weights": 5}, id="weights-int"),
        pytest.param({"weights": {1: torch.zeros(2)}}, id="state-dict-int-key"),
        pytest.param({"note": 5}, id="note-int"),
        pytest.param({"note": "a\x00b"}, id="note-nul"),
        pytest.param(
            {"operation": {"name": "x", "library_versions": {"torch": object()}}},
            id="library-versions-object",
        ),
        pytest.param({"operation": {"name": "x", "wall_time_s": "slow"}}, id="wall-time-text"),
        pytest.param({"operation": {"name": "x" * 101}}, id="operation-name-101"),
    ],
)
def test_other_log_model_arguments_of_the_wrong_kind_are_refused(
    abc: cl.Workspace, options: dict[str, Any]
) -> None:
    refused(abc, lambda: abc.log_model("w", **options))


@pytest.mark.parametrize(
    ("data", "labels"),
    [
        pytest.param(np.zeros((2, 4), dtype=np.float32), ["a", "b"], id="text-labels"),
        pytest.param("hello", [0], id="a-string-as-inputs"),
        pytest.param([[1.0], [1.0, 2.0]], [0, 1], id="ragged-inputs"),
        pytest.param(np.array([["a"] * 4] * 2), [0, 1], id="text-inputs"),
    ],
)
def test_dataset_arrays_that_are_not_numbers_are_refused(
    abc: cl.Workspace, data: Any, labels: Any
) -> None:
    refused(abc, lambda: abc.add_dataset("d", data, labels))


def test_add_model_refuses_what_is_not_a_module_or_a_shape(abc: cl.Workspace) -> None:
    refused(abc, lambda: abc.add_model("m", name="x", factory=MLP_FACTORY))  # type: ignore[arg-type]
    model = torch.nn.Linear(4, 3)
    kwargs = {"in_features": 4, "out_features": 3}
    for shape in (["a"], [0], [-4], [2.5], 5):
        with pytest.raises(CompressLensError):
            abc.add_model(
                model, name="x", factory="torch.nn:Linear", factory_kwargs=kwargs, input_shape=shape
            )
    assert [m.name for m in abc.models()] == ["m"]


def test_a_sqlite_file_of_another_application_is_not_made_a_workspace(tmp_path: Path) -> None:
    import sqlite3

    folder = tmp_path / "ws"
    folder.mkdir()
    connection = sqlite3.connect(folder / "compresslens.db")
    connection.execute("CREATE TABLE customers (id INTEGER)")
    connection.commit()
    connection.close()
    before = (folder / "compresslens.db").read_bytes()
    with pytest.raises(CompressLensError, match=r"not a compresslens database.*customers"):
        cl.Workspace(folder)
    assert (folder / "compresslens.db").read_bytes() == before
