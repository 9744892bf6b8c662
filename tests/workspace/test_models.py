"""Adding, reloading, compressing and logging models: bit-identical, pickle-free, traceable."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import Field
from torch import nn

import compresslens as cl
from compresslens.errors import (
    DuplicateNameError,
    FactoryError,
    InvalidWeightsError,
    NotFoundError,
    OperationError,
)
from compresslens.ops.registry import (
    Operation,
    OperationParams,
    register_operation,
    unregister_operation,
)
from factories import MLP_FACTORY, digits_mlp
from snapshot import workspace_snapshot


def test_reloaded_model_gives_bit_identical_outputs(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module, digits: tuple
) -> None:
    inputs, _ = digits
    reloaded = digits_workspace.load_model("mlp")
    with torch.inference_mode():
        assert torch.equal(reloaded(inputs), trained_mlp(inputs))


def test_weights_are_stored_as_safetensors_and_recorded_with_sizes(
    digits_workspace: cl.Workspace,
) -> None:
    info = digits_workspace.model("mlp")
    assert info.has_weights and info.source == "added" and info.factory == MLP_FACTORY
    assert info.efficiency["parameters"] == 64 * 32 + 32 + 32 * 10 + 10
    assert info.efficiency["dense_bytes"] == info.efficiency["parameters"] * 4
    assert info.metrics["model"]["parameters"] == info.efficiency["parameters"]


def test_adding_the_same_model_twice_returns_the_first(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module
) -> None:
    again = digits_workspace.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
    assert again.id == digits_workspace.model("mlp").id
    assert len(digits_workspace.models()) == 1


def test_a_name_taken_by_different_weights_is_refused_and_nothing_changes(
    digits_workspace: cl.Workspace,
) -> None:
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(DuplicateNameError):
        digits_workspace.add_model(digits_mlp(), name="mlp", factory=MLP_FACTORY)
    assert workspace_snapshot(digits_workspace) == before


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("no_colon", "package.module:function"),
        ("no_such_module_xyz:f", "cannot import"),
        ("factories:missing", "no attribute"),
        ("factories:not_a_module", "not a torch.nn.Module"),
    ],
)
def test_a_bad_factory_gives_a_clear_error_and_writes_nothing(
    workspace: cl.Workspace, trained_mlp: nn.Module, factory: str, message: str
) -> None:
    before = workspace_snapshot(workspace)
    with pytest.raises(FactoryError, match=message):
        workspace.add_model(trained_mlp, name="m", factory=factory)
    assert workspace_snapshot(workspace) == before


def test_a_factory_in_the_running_script_is_refused_before_anything_is_stored(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module
) -> None:
    """`__main__:DigitsMLP` works in the script that defines it and nowhere else."""
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(FactoryError, match="cannot be imported again"):
        digits_workspace.add_model(trained_mlp, name="m", factory="__main__:DigitsMLP")
    with pytest.raises(FactoryError, match="cannot be imported again"):
        digits_workspace.train("__main__:DigitsMLP", dataset="digits", limit=10)
    assert workspace_snapshot(digits_workspace) == before


def test_a_factory_that_builds_another_shape_is_refused(
    workspace: cl.Workspace, trained_mlp: nn.Module
) -> None:
    with pytest.raises(InvalidWeightsError, match="shape mismatch"):
        workspace.add_model(
            trained_mlp, name="m", factory=MLP_FACTORY, factory_kwargs={"hidden": 16}
        )
    assert workspace.models() == []


def test_a_corrupt_safetensors_file_is_refused_and_nothing_changes(
    digits_workspace: cl.Workspace, tmp_path: Path
) -> None:
    from safetensors.torch import save_file

    good = tmp_path / "w.safetensors"
    save_file(digits_mlp().state_dict(), good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-100])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    before = workspace_snapshot(digits_workspace)
    for bad in (truncated, garbage):
        with pytest.raises(InvalidWeightsError, match="safetensors"):
            digits_workspace.add_model(digits_mlp(), name="other", factory=MLP_FACTORY, weights=bad)
    assert workspace_snapshot(digits_workspace) == before


def test_weights_can_come_from_a_safetensors_or_tensor_only_torch_file(
    workspace: cl.Workspace, trained_mlp: nn.Module, tmp_path: Path
) -> None:
    from safetensors.torch import save_file

    save_file(trained_mlp.state_dict(), tmp_path / "w.safetensors")
    torch.save(trained_mlp.state_dict(), tmp_path / "w.pt")
    a = workspace.add_model(
        digits_mlp(), name="a", factory=MLP_FACTORY, weights=tmp_path / "w.safetensors"
    )
    b = workspace.add_model(digits_mlp(), name="b", factory=MLP_FACTORY, weights=tmp_path / "w.pt")
    for info in (a, b):
        for key, value in workspace.load_model(info.id).state_dict().items():
            assert torch.equal(value, trained_mlp.state_dict()[key])


def test_a_torch_file_holding_arbitrary_objects_is_refused(
    workspace: cl.Workspace, tmp_path: Path
) -> None:
    torch.save({"weight": torch.zeros(2), "hook": print}, tmp_path / "evil.pt")
    with pytest.raises(InvalidWeightsError):
        workspace.add_model(
            digits_mlp(), name="m", factory=MLP_FACTORY, weights=tmp_path / "evil.pt"
        )


def test_a_corrupted_weights_artifact_is_detected_on_load(digits_workspace: cl.Workspace) -> None:
    row = digits_workspace.store.get_model("mlp")
    path = digits_workspace.store.artifacts.path_of(row.weights_artifact)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(cl.CompressLensError, match="corrupt"):
        digits_workspace.load_model("mlp")


def test_an_unknown_model_gives_a_clear_error_with_suggestions(
    digits_workspace: cl.Workspace,
) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'mlp'"):
        digits_workspace.model("mpl")
    with pytest.raises(NotFoundError, match="no model"):
        digits_workspace.load_model("0123456789abcdef")


def test_a_model_can_be_found_by_id_prefix(digits_workspace: cl.Workspace) -> None:
    info = digits_workspace.model("mlp")
    assert digits_workspace.model(info.id[:6]).name == "mlp"


class ShrinkParams(OperationParams):
    width: int = Field(gt=0)


def shrink_hidden(model: nn.Module, params: ShrinkParams, _extra: object = None) -> nn.Module:
    """A test operation that changes the architecture: keep the first `width` hidden units."""
    width = params.width
    first, last = model.body[0], model.classifier
    new_first, new_last = nn.Linear(first.in_features, width), nn.Linear(width, last.out_features)
    with torch.no_grad():
        new_first.weight.copy_(first.weight[:width])
        new_first.bias.copy_(first.bias[:width])
        new_last.weight.copy_(last.weight[:, :width])
        new_last.bias.copy_(last.bias)
    model.body[0], model.classifier = new_first, new_last
    return model


@pytest.fixture
def shrink_operation():
    register_operation(
        Operation("test.shrink", apply=shrink_hidden, params=ShrinkParams, replay=shrink_hidden),
        replace=True,
    )
    yield "test.shrink"
    unregister_operation("test.shrink")


def test_compress_records_the_edge_and_replays_the_architecture_on_reload(
    digits_workspace: cl.Workspace, shrink_operation: str, digits: tuple
) -> None:
    inputs, _ = digits
    child = digits_workspace.compress("mlp", shrink_operation, width=8, seed=3)
    assert child.operation is not None
    assert child.operation.name == "test.shrink"
    assert child.operation.params == {"width": 8}
    assert child.operation.seed == 3
    assert child.parent_ids == [digits_workspace.model("mlp").id]
    assert "torch" in child.operation.library_versions
    assert child.efficiency["parameters"] == 64 * 8 + 8 + 8 * 10 + 10
    expected = shrink_hidden(digits_workspace.load_model("mlp"), ShrinkParams(width=8))
    reloaded = digits_workspace.load_model(child.id)
    with torch.inference_mode():
        assert torch.equal(reloaded(inputs), expected(inputs))
    assert [m.name for m in digits_workspace.lineage(child.id)] == ["mlp", child.name]


def test_compressing_twice_with_the_same_parameters_is_a_cache_hit(
    digits_workspace: cl.Workspace, shrink_operation: str
) -> None:
    first = digits_workspace.compress("mlp", shrink_operation, width=8)
    second = digits_workspace.compress("mlp", shrink_operation, width=8)
    assert first.id == second.id
    assert len(digits_workspace.models()) == 2


def test_bad_operation_parameters_are_refused_with_the_field_named(
    digits_workspace: cl.Workspace, shrink_operation: str
) -> None:
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(OperationError, match="width"):
        digits_workspace.compress("mlp", shrink_operation, width=-1)
    with pytest.raises(OperationError, match="colour"):
        digits_workspace.compress("mlp", shrink_operation, width=4, colour="red")
    assert workspace_snapshot(digits_workspace) == before


def explode(model: nn.Module, params: ShrinkParams, _context: object) -> nn.Module:
    raise RuntimeError(f"cannot shrink to {params.width}")


def test_a_failing_operation_can_leave_a_failed_node_that_a_rerun_retries(
    digits_workspace: cl.Workspace,
) -> None:
    register_operation(Operation("test.explode", apply=explode, params=ShrinkParams), replace=True)
    try:
        with pytest.raises(OperationError, match="cannot shrink to 3"):
            digits_workspace.compress("mlp", "test.explode", width=3, record_failure=True)
        failed = digits_workspace.model(digits_workspace.planned_id("mlp", "test.explode", width=3))
        assert failed.status == "failed" and not failed.has_weights
        assert "RuntimeError: cannot shrink to 3" in failed.operation.error
        register_operation(
            Operation("test.explode", apply=shrink_hidden, params=ShrinkParams), replace=True
        )
        retried = digits_workspace.compress("mlp", "test.explode", width=3)
        assert retried.id == failed.id and retried.status == "ready" and retried.has_weights
    finally:
        unregister_operation("test.explode")


def test_an_unknown_operation_is_refused_and_nothing_changes(
    digits_workspace: cl.Workspace,
) -> None:
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(OperationError, match="unknown operation"):
        digits_workspace.compress("mlp", "prune.nonexistent", amount=0.5)
    assert workspace_snapshot(digits_workspace) == before


def test_log_model_records_parents_operation_metrics_and_outputs(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module, digits: tuple
) -> None:
    from sklearn.metrics import accuracy_score

    inputs, labels = digits
    with torch.inference_mode():
        logits = trained_mlp(inputs).numpy()
    logged = digits_workspace.log_model(
        "external-int8",
        parents=["mlp"],
        operation={"name": "quantize.external", "params": {"bits": 8}, "seed": 1},
        metrics={"latency_ms_phone": 3.5, "digits": {"accuracy_reported": 0.91}},
        outputs={"digits": logits},
        tags=["external"],
    )
    assert logged.source == "logged" and not logged.has_weights
    assert logged.parent_ids == [digits_workspace.model("mlp").id]
    assert logged.operation.params == {"bits": 8}
    assert logged.metrics["model"]["latency_ms_phone"] == 3.5
    assert logged.metrics["digits"]["accuracy_reported"] == 0.91
    expected = accuracy_score(labels.numpy(), logits.argmax(1))
    assert logged.metrics["digits"]["accuracy"] == pytest.approx(expected)
    assert logged.tags == ["external"]
    with pytest.raises(InvalidWeightsError, match="without weights"):
        digits_workspace.load_model("external-int8")


def test_log_model_with_weights_and_a_factory_can_be_loaded(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module
) -> None:
    logged = digits_workspace.log_model(
        "copy", weights=trained_mlp.state_dict(), factory=MLP_FACTORY
    )
    assert logged.has_weights and logged.efficiency["parameters"] > 0
    reloaded = digits_workspace.load_model("copy")
    assert torch.equal(reloaded.classifier.weight, trained_mlp.classifier.weight)


def test_log_model_with_outputs_of_the_wrong_shape_changes_nothing(
    digits_workspace: cl.Workspace,
) -> None:
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(cl.CompressLensError, match="shape"):
        digits_workspace.log_model("bad", outputs={"digits": torch.zeros(10, 10).numpy()})
    assert workspace_snapshot(digits_workspace) == before


def test_tags_and_notes_are_kept(digits_workspace: cl.Workspace) -> None:
    digits_workspace.tag("mlp", "base", "digits")
    info = digits_workspace.note("mlp", "trained for 60 steps")
    assert info.tags == ["base", "digits"] and info.notes == ["trained for 60 steps"]


def test_train_makes_a_root_with_a_scratch_edge_and_is_a_cache_hit(
    digits_workspace: cl.Workspace,
) -> None:
    from factories import MLP_FACTORY

    first = digits_workspace.train(
        MLP_FACTORY, dataset="digits", seed=4, epochs=2, lr=0.01, batch_size=256
    )
    assert first.source == "trained" and first.factory == MLP_FACTORY
    assert first.operation.name == "train.scratch" and first.operation.parents == []
    assert first.operation.params["epochs"] == 2 and first.operation.seed == 4
    again = digits_workspace.train(
        MLP_FACTORY, dataset="digits", seed=4, epochs=2, lr=0.01, batch_size=256
    )
    other_seed = digits_workspace.train(
        MLP_FACTORY, dataset="digits", seed=5, epochs=2, lr=0.01, batch_size=256
    )
    assert again.id == first.id and other_seed.id != first.id
    a, b = digits_workspace.load_model(first.id), digits_workspace.load_model(other_seed.id)
    assert not torch.equal(a.classifier.weight, b.classifier.weight)
    with pytest.raises(cl.CompressLensError, match="epochs"):
        digits_workspace.train(MLP_FACTORY, dataset="digits", epochs=0)


# -- the output contract, input specs and thread counts -------------------------------------


def narrow_the_classifier(model: nn.Module, params: OperationParams, _context: object) -> nn.Module:
    model.classifier = nn.Linear(model.classifier.in_features, 5)
    return model


def test_an_operation_that_changes_the_output_shape_stores_nothing(
    digits_workspace: cl.Workspace,
) -> None:
    register_operation(Operation("test.narrow", apply=narrow_the_classifier), replace=True)
    before = workspace_snapshot(digits_workspace)
    try:
        with pytest.raises(OperationError, match=r"output shape from \[1, 10\] to \[1, 5\]"):
            digits_workspace.compress("mlp", "test.narrow")
        with pytest.raises(OperationError, match="output shape"):
            digits_workspace.compress("mlp", "test.narrow", record_failure=True, name="bad")
    finally:
        unregister_operation("test.narrow")
    assert digits_workspace.model("bad").status == "failed"  # a failed node, never a ready one
    assert len([m for m in digits_workspace.models() if m.status == "ready"]) == 1
    digits_workspace.store.delete_model(digits_workspace.model("bad").id)
    assert workspace_snapshot(digits_workspace) == before


def test_add_model_records_the_input_shape_given_or_found_in_a_dataset(
    digits_workspace: cl.Workspace, trained_mlp: nn.Module, workspace: cl.Workspace
) -> None:
    assert digits_workspace.model("mlp").input_spec == {
        "version": 1, "shape": [64], "dtype": "float32", "fill": 0,
    }  # fmt: skip
    given = workspace.add_model(trained_mlp, name="m", factory=MLP_FACTORY, input_shape=[64])
    assert given.input_spec is not None and given.input_spec["shape"] == [64]
    with pytest.raises(cl.errors.DataFormatError, match="no batch dimension"):
        workspace.add_model(trained_mlp, name="m2", factory=MLP_FACTORY, input_shape=[0, 64])


def test_a_model_of_unknown_input_shape_is_refused_with_the_way_out(
    workspace: cl.Workspace, trained_mlp: nn.Module
) -> None:
    workspace.add_model(trained_mlp, name="m", factory=MLP_FACTORY)
    assert workspace.model("m").input_spec is None  # no dataset to find it in
    before = workspace_snapshot(workspace)
    with pytest.raises(OperationError, match=r"input_shape=\[…\] \(one instance"):
        workspace.compress("m", "prune.magnitude", amount=0.5)
    assert workspace_snapshot(workspace) == before


def test_compress_and_train_record_the_thread_count_and_restore_it(
    digits_workspace: cl.Workspace,
) -> None:
    previous = torch.get_num_threads()
    child = digits_workspace.compress("mlp", "prune.magnitude", amount=0.5, threads=2)
    assert child.operation is not None and child.operation.threads == 2
    assert torch.get_num_threads() == previous
    default = digits_workspace.compress("mlp", "prune.magnitude", amount=0.6)
    assert default.operation is not None and default.operation.threads == previous
    trained = digits_workspace.train(MLP_FACTORY, dataset="digits", epochs=1, threads=1)
    assert trained.operation is not None and trained.operation.threads == 1
    assert trained.input_spec is not None and trained.input_spec["shape"] == [64]
    assert torch.get_num_threads() == previous
