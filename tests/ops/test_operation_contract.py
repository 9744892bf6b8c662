"""One contract over every registered operation × every architecture (like check_estimator).

For each pair, through the Workspace as a user calls it: the child answers an example with
the parent's output shape; replaying the recorded provenance (operation, parameters, seed,
threads) in a second workspace makes bit-identical weights; the child reloads without any
pickle; its efficiency figures agree with the reloaded module. Where an operation cannot
apply, it is refused with an error naming the operation and the reason, and the workspace
is unchanged. A newly registered operation fails `test_every_operation_is_in_the_contract`
until it has parameters here: no skip hides it.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

import compresslens as cl
import user_models
from compresslens.data.inputs import example_from_spec
from compresslens.errors import OperationError
from compresslens.evaluate.efficiency import count_parameters
from compresslens.models.calling import model_output
from compresslens.models.weights import state_dict_from_bytes
from compresslens.ops.registry import get_operation, registered_operations
from snapshot import workspace_snapshot

pytest.importorskip("transformers", reason="the contract's BERT and Llama need transformers")


@dataclass(frozen=True)
class Architecture:
    dataset: str  # the registered dataset the data-hungry operations use
    factory: str | None = None  # user_models:<name>, or None for a Hugging Face folder
    save: Callable[[Path], Path] | None = None
    task: str = "sequence-classification"


ARCHITECTURES = {
    "resnet-fc": Architecture("images", factory="user_models:resnet_fc"),
    "vit-head": Architecture("images", factory="user_models:vit_head"),
    "depthwise-cnn": Architecture("images", factory="user_models:depthwise_cnn"),
    "sequential-mlp": Architecture("features", factory="user_models:sequential_mlp"),
    "tiny-bert": Architecture("tokens", save=user_models.save_tiny_bert),
    "tiny-llama": Architecture("tokens", save=user_models.save_tiny_llama, task="causal-lm"),
}

DATA = {"dataset": "{dataset}"}
PARAMS: dict[str, dict[str, Any]] = {
    "prune.magnitude": {"amount": 0.5, "scope": "global"},
    "prune.random": {"amount": 0.5},
    "prune.gradient": {"amount": 0.5, **DATA, "batch_size": 8, "calibration_batches": 2},
    "prune.nm": {"n": 2, "m": 4},
    "prune.wanda": {"amount": 0.5, **DATA, "batch_size": 8, "calibration_batches": 2},
    "restore": {"names": ["*"]},
    "prune.structured": {"amount": 0.5},
    "quantize.dynamic_int8": {},
    "quantize.static_int8": {**DATA, "calibration_batches": 2, "batch_size": 8},
    "quantize.weight_only": {"bits": 4, "group_size": 16},
    "cast.fp16": {},
    "cast.bf16": {},
    "lowrank.svd": {"rank": 4},
    "train.finetune": {**DATA, "epochs": 1, "batch_size": 8, "limit": 16},
    "train.distill": {**DATA, "epochs": 1, "batch_size": 8, "limit": 16},
    "bn.recalibrate": {**DATA, "batches": 2, "batch_size": 8},
}
# Parameters a user would add for an architecture: N:M leaves out the layers whose inputs
# (3·3·3 = 27, depthwise 1·3·3 = 9) are not a multiple of m, as its error suggests.
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("prune.nm", "resnet-fc"): {"exclude": ["conv1"]},
    ("prune.nm", "depthwise-cnn"): {"exclude": ["stem.0", "features.*.0"]},
    # nn.MultiheadAttention calls its out_proj through F.linear: no input to measure
    ("prune.wanda", "vit-head"): {"exclude": ["*.out_proj"]},
}
# Where an operation cannot apply: the reason its error must give.
NO_BATCHNORM = "no BatchNorm layer"
NOT_A_CLASSIFIER = r"classifier that outputs logits \[batch, classes\]"
REFUSED: dict[tuple[str, str], str] = {
    ("bn.recalibrate", "vit-head"): NO_BATCHNORM,
    ("bn.recalibrate", "sequential-mlp"): NO_BATCHNORM,
    ("bn.recalibrate", "tiny-bert"): NO_BATCHNORM,
    ("bn.recalibrate", "tiny-llama"): NO_BATCHNORM,
    ("prune.structured", "tiny-bert"): "attention blocks",
    ("prune.structured", "tiny-llama"): "attention blocks",
    ("quantize.static_int8", "vit-head"): "cannot FX-trace",
    ("quantize.static_int8", "tiny-bert"): "floating-point input tensor",
    ("quantize.static_int8", "tiny-llama"): "floating-point input tensor",
    ("prune.gradient", "tiny-llama"): NOT_A_CLASSIFIER,
    ("train.finetune", "tiny-llama"): NOT_A_CLASSIFIER,
    ("train.distill", "tiny-llama"): NOT_A_CLASSIFIER,
}


def shipped_operations() -> list[str]:
    """Every operation compresslens registers (test plugins such as sweep.* are not ours)."""
    return [
        name
        for name in registered_operations()
        if get_operation(name).apply.__module__.startswith("compresslens.")
    ]


SHRINKS = {"prune.structured", "lowrank.svd"}  # fewer parameters
SPARSIFIES = {"prune.magnitude", "prune.random", "prune.gradient", "prune.nm", "prune.wanda"}
NARROWS = {"quantize.dynamic_int8", "quantize.static_int8", "quantize.weight_only"}
NARROWS |= {"cast.fp16", "cast.bf16"}  # fewer bytes per weight


def _register_data(ws: cl.Workspace, root: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(32) % 10
    ws.add_dataset("images", torch.rand(32, *user_models.IMAGE_SHAPE, generator=generator), labels)
    ws.add_dataset("features", torch.rand(32, user_models.FEATURES, generator=generator), labels)
    tokens = {
        "input_ids": torch.randint(4, user_models.VOCAB, (32, 8), generator=generator),
        "attention_mask": torch.ones(32, 8, dtype=torch.long),
    }
    ws.add_dataset("tokens", tokens, torch.arange(32) % 4)


def _add_base(ws: cl.Workspace, arch: Architecture, root: Path) -> cl.ModelInfo:
    if arch.factory is not None:
        torch.manual_seed(0)
        name = arch.factory.partition(":")[2]
        model = getattr(user_models, name)().eval()
        shape = user_models.IMAGE_SHAPE if arch.dataset == "images" else [user_models.FEATURES]
        return ws.add_model(model, name="base", factory=arch.factory, input_shape=shape)
    assert arch.save is not None
    folder = root / "checkpoint"
    if not folder.exists():
        arch.save(folder)
    return ws.add_hf_model(folder, name="base", task=arch.task)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """(workspace, twin workspace) per architecture, each holding the data and the base."""
    made: dict[str, tuple[cl.Workspace, cl.Workspace]] = {}

    def of(name: str) -> tuple[cl.Workspace, cl.Workspace]:
        if name not in made:
            root = tmp_path_factory.mktemp(name)
            pair = []
            for which in ("ws", "twin"):
                ws = cl.Workspace(root / which)
                _register_data(ws, root)
                _add_base(ws, ARCHITECTURES[name], root)
                pair.append(ws)
            made[name] = (pair[0], pair[1])
        return made[name]

    yield of
    for ws, twin in made.values():
        ws.close()
        twin.close()


def _params(operation: str, arch_name: str) -> dict[str, Any]:
    dataset = ARCHITECTURES[arch_name].dataset
    params = {
        key: value.format(dataset=dataset) if isinstance(value, str) else value
        for key, value in PARAMS[operation].items()
    }
    return {**params, **OVERRIDES.get((operation, arch_name), {})}


def _compress(ws: cl.Workspace, operation: str, **params: Any) -> cl.ModelInfo:
    teacher = {"teacher": "base"} if operation in ("train.distill", "restore") else {}
    return ws.compress("base", operation, seed=1, threads=1, **teacher, **params)


@pytest.fixture
def no_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to unpickle fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)


def test_every_operation_is_in_the_contract() -> None:
    assert set(PARAMS) == set(shipped_operations())
    assert {op for op, _ in REFUSED} <= set(PARAMS)
    assert {arch for _, arch in REFUSED} <= set(ARCHITECTURES)


@pytest.mark.parametrize("arch_name", list(ARCHITECTURES))
@pytest.mark.parametrize("operation", shipped_operations())
def test_operation_contract(
    operation: str, arch_name: str, workspaces: Callable[[str], Any], request: Any
) -> None:
    ws, twin = workspaces(arch_name)
    params = _params(operation, arch_name)
    if (operation, arch_name) in REFUSED:
        before = workspace_snapshot(ws)
        reason = REFUSED[(operation, arch_name)]
        with pytest.raises(OperationError, match=rf"{re.escape(operation)}.*{reason}"):
            _compress(ws, operation, **params)
        assert workspace_snapshot(ws) == before
        return

    base = ws.model("base")
    child = _compress(ws, operation, **params)
    assert child.status == "ready" and child.operation is not None
    assert child.operation["threads"] == 1 and child.operation["seed"] == 1
    assert child.input_spec == base.input_spec

    # the output contract, on the recorded example
    example = example_from_spec(child.input_spec or {})
    request.getfixturevalue("no_pickle")
    parent_module, child_module = ws.load_model(base), ws.load_model(child)  # no pickle
    with torch.no_grad():
        expected = model_output(parent_module, example).shape
        assert model_output(child_module, example).shape == expected

    # reload: the stored values, exactly
    stored = state_dict_from_bytes(
        ws.store.read_artifact(ws.store.get_model(child.id).weights_artifact)
    )
    reloaded_twice = ws.load_model(child)
    with torch.no_grad():
        assert torch.equal(
            model_output(reloaded_twice, example).float(),
            model_output(child_module, example).float(),
        )

    # replay from provenance in a second workspace: the same id and bit-identical weights
    recorded = child.operation
    replayed = _compress(twin, recorded["name"], **recorded["params"])
    assert replayed.id == child.id
    assert (
        twin.store.get_model(replayed.id).weights_artifact
        == ws.store.get_model(child.id).weights_artifact
    )

    # efficiency figures agree with the module and the file
    efficiency = child.efficiency
    total, nonzero = count_parameters(child_module)
    assert (efficiency["parameters"], efficiency["nonzero_parameters"]) == (total, nonzero)
    assert efficiency["sparsity"] == pytest.approx(1 - nonzero / total)
    assert efficiency["disk_bytes"] == len(
        ws.store.read_artifact(ws.store.get_model(child.id).weights_artifact)
    )
    assert 0 < efficiency["compressed_bytes"] <= efficiency["dense_bytes"]
    parent = base.efficiency
    if operation in SHRINKS:
        assert efficiency["parameters"] < parent["parameters"]
    if operation in SPARSIFIES:
        assert efficiency["nonzero_parameters"] < parent["nonzero_parameters"]
    if operation in NARROWS:
        assert efficiency["compressed_bytes"] < parent["compressed_bytes"]
    assert len(stored) > 0
