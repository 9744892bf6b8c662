"""No code runs from data: factories and plugins import only modules the user trusts."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import compresslens as cl
from compresslens.errors import FactoryError, TrustFileError, UntrustedCodeError
from compresslens.models import trust
from compresslens.models.factory import build_from_factory, resolve_factory, trust_factory
from tampered import system_command_workspace

# a module whose import leaves a file behind: proof that it was (or was not) imported
LOUD_MODULE = """\
import pathlib
pathlib.Path({sentinel!r}).write_text("imported")
"""
# a module a user trusts, which also imports things that are no model builders
MIXED_MODULE = """\
import functools
import subprocess
from os import system
from subprocess import run

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.linear = nn.Linear(width, 2)


class NotAModel:
    pass


def make(width: int = 3) -> nn.Module:
    return Net(width)


Linear = nn.Linear
partial_make = functools.partial(make, width=4)
"""


@pytest.fixture
def fresh_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty trust file of this test's own and nothing in $COMPRESSLENS_TRUST."""
    monkeypatch.setenv(trust.CONFIG_ENV, str(tmp_path / "config"))
    monkeypatch.delenv(trust.TRUST_ENV, raising=False)
    return tmp_path / "config" / "trust.json"


def write_module(folder: Path, name: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_compresslens_is_trusted_and_nothing_else_by_default(fresh_trust: Path) -> None:
    assert trust.is_trusted("compresslens") and trust.is_trusted("compresslens.models.zoo")
    assert not trust.is_trusted("os")
    assert not trust.is_trusted("compresslens_extra")  # a prefix is not a package
    assert trust.trusted_modules() == ["compresslens"]


def test_the_environment_and_the_trust_file_trust_a_package_and_its_submodules(
    fresh_trust: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(trust.TRUST_ENV, " my_models , lab.nets")
    assert trust.trust(["other_pkg", "other_pkg"]) == ["other_pkg"]
    assert trust.trust(["other_pkg"]) == []
    assert trust.trusted_modules() == ["compresslens", "my_models", "lab.nets", "other_pkg"]
    assert trust.is_trusted("my_models.deep.module") and trust.is_trusted("other_pkg.x")
    assert not trust.is_trusted("lab") and not trust.is_trusted("my_models_2")
    assert json.loads(fresh_trust.read_text()) == {"version": 1, "modules": ["other_pkg"]}
    assert trust.untrust(["other_pkg", "never_listed"]) == ["other_pkg"]
    assert not trust.is_trusted("other_pkg")


@pytest.mark.parametrize("name", ["", "os;rm", "../evil", ".relative", "a..b", "a b"])
def test_only_dotted_module_names_can_be_trusted(fresh_trust: Path, name: str) -> None:
    with pytest.raises(UntrustedCodeError, match="is not a module name"):
        trust.trust([name])
    assert not fresh_trust.exists()


def test_a_damaged_trust_file_is_an_error_that_says_what_to_do(fresh_trust: Path) -> None:
    fresh_trust.parent.mkdir(parents=True)
    fresh_trust.write_text('{"modules": "my_models"}')
    with pytest.raises(TrustFileError, match=r"is damaged.*compresslens trust add"):
        trust.is_trusted("my_models")
    assert trust.is_trusted("compresslens.models.zoo")  # compresslens needs no file


def test_an_untrusted_factory_module_is_never_imported(
    fresh_trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel = tmp_path / "imported.txt"
    write_module(tmp_path, "loud_nets_xyz", LOUD_MODULE.format(sentinel=str(sentinel)), monkeypatch)
    with pytest.raises(UntrustedCodeError) as raised:
        build_from_factory("loud_nets_xyz:build", {}, "base")
    message = str(raised.value)
    assert "'loud_nets_xyz:build' of model 'base'" in message
    assert "compresslens trust add loud_nets_xyz" in message
    assert "compresslens --trust loud_nets_xyz" in message
    assert not sentinel.exists() and "loud_nets_xyz" not in sys.modules


def test_os_system_is_no_factory(fresh_trust: Path, tmp_path: Path) -> None:
    sentinel = tmp_path / "ran.txt"
    with pytest.raises(UntrustedCodeError, match="needs module 'os'"):
        build_from_factory("os:system", {"command": f"touch {sentinel}"})
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("attribute", "problem"),
    [
        ("system", "a builtin_function_or_method"),
        ("run", "a function of module 'subprocess'"),
        ("subprocess", "a module"),
        ("partial_make", "a partial"),
        ("NotAModel", "the class NotAModel"),
    ],
)
def test_a_trusted_module_yields_only_module_classes_and_its_own_functions(
    fresh_trust: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attribute: str,
    problem: str,
) -> None:
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    monkeypatch.setenv(trust.TRUST_ENV, "mixed_nets_xyz")
    with pytest.raises(FactoryError, match=f"is {problem}, not a torch.nn.Module class or a "):
        resolve_factory(f"mixed_nets_xyz:{attribute}")


def test_the_builders_of_a_trusted_module_build(
    fresh_trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    monkeypatch.setenv(trust.TRUST_ENV, "mixed_nets_xyz")
    assert build_from_factory("mixed_nets_xyz:make", {"width": 5}).linear.in_features == 5
    assert build_from_factory("mixed_nets_xyz:Net", {}).linear.in_features == 3
    linear = build_from_factory("mixed_nets_xyz:Linear", {"in_features": 2, "out_features": 1})
    assert isinstance(linear, nn.Linear)


@pytest.mark.parametrize("factory", ["mixed_nets_xyz:os.system", "mixed_nets_xyz:Net.__init__"])
def test_a_factory_does_not_walk_past_its_module(
    fresh_trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factory: str
) -> None:
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    monkeypatch.setenv(trust.TRUST_ENV, "mixed_nets_xyz")
    with pytest.raises(FactoryError, match="must name a class or function of its module"):
        resolve_factory(factory)


@pytest.mark.parametrize(
    "factory", ["compresslens.models.trust:trust", "compresslens.store.artifacts:sha256_bytes"]
)
def test_compresslens_functions_that_build_no_model_are_refused_before_they_run(
    fresh_trust: Path, factory: str
) -> None:
    with pytest.raises(UntrustedCodeError, match="builds models only from"):
        build_from_factory(factory, {"modules": ["evil"]})
    assert not fresh_trust.exists()


def test_registering_a_factory_trusts_its_module_in_the_trust_file(
    fresh_trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    trust_factory("mixed_nets_xyz:make")
    assert json.loads(fresh_trust.read_text())["modules"] == ["mixed_nets_xyz"]
    trust_factory("compresslens.models.zoo:mlp")  # trusted already: the file is not touched
    assert json.loads(fresh_trust.read_text())["modules"] == ["mixed_nets_xyz"]


def test_a_mistyped_factory_module_is_not_trusted(fresh_trust: Path) -> None:
    with pytest.raises(FactoryError, match=r"cannot import 'no_such_nets_xyz'.*no such module"):
        trust_factory("no_such_nets_xyz:build")
    assert not fresh_trust.exists()


def test_registering_without_a_writable_trust_file_trusts_the_module_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv(trust.CONFIG_ENV, str(tmp_path / "a_file" / "config"))
    monkeypatch.delenv(trust.TRUST_ENV, raising=False)
    monkeypatch.setattr(trust, "_remembered_here", set())
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    with pytest.warns(UserWarning, match="trusted in this process only"):
        trust_factory("mixed_nets_xyz:make")
    assert trust.is_trusted("mixed_nets_xyz")


def test_add_model_trusts_the_factory_so_load_model_rebuilds_it(
    fresh_trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    import mixed_nets_xyz  # the user's own code, imported by the user

    ws = cl.Workspace(tmp_path / "ws")
    torch.manual_seed(0)
    ws.add_model(mixed_nets_xyz.make(), name="m", factory="mixed_nets_xyz:make")
    assert trust.modules_from_file() == ["mixed_nets_xyz"]
    assert isinstance(ws.load_model("m"), nn.Module)
    ws.close()


def test_log_model_with_a_factory_trusts_its_module(
    fresh_trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(tmp_path, "mixed_nets_xyz", MIXED_MODULE, monkeypatch)
    ws = cl.Workspace(tmp_path / "ws")
    ws.log_model("m", factory="mixed_nets_xyz:Net", metrics={"accuracy": 0.5})
    assert trust.modules_from_file() == ["mixed_nets_xyz"]
    ws.close()


def test_a_tampered_workspace_runs_no_command_on_load_or_evaluate(
    fresh_trust: Path, tmp_path: Path, pruned_once: cl.Workspace
) -> None:
    sentinel = tmp_path / "owned.txt"
    folder = system_command_workspace(pruned_once, sentinel)
    ws = cl.Workspace(folder)
    for attempt in (
        lambda: ws.load_model("mlp"),
        lambda: ws.load_model("mlp-70"),
        lambda: ws.evaluate("mlp-70", "digits", latency=False),
    ):
        with pytest.raises(UntrustedCodeError, match="'os:system' of model 'mlp' needs module"):
            attempt()
    ws.close()
    assert not sentinel.exists()


@pytest.fixture
def pruned_once(digits_workspace: cl.Workspace) -> cl.Workspace:
    """digits_workspace plus "mlp-70" (70% magnitude pruning), nothing evaluated."""
    digits_workspace.compress("mlp", "prune.magnitude", amount=0.7, name="mlp-70")
    return digits_workspace


REMOTE_CODE = {
    "AutoConfig": "remote_code_xyz.EvilConfig",
    "AutoModelForSequenceClassification": "remote_code_xyz.EvilModel",
}


@pytest.fixture
def bert_with_remote_code(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny BERT folder whose config asks for code shipped in the folder (auto_map), and the
    file that code would write when imported."""
    pytest.importorskip("transformers", reason="Hugging Face models need it")
    import user_models

    folder = user_models.save_tiny_bert(tmp_path / "bert")
    sentinel = tmp_path / "remote-code-ran.txt"
    (folder / "remote_code_xyz.py").write_text(LOUD_MODULE.format(sentinel=str(sentinel)))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": REMOTE_CODE}))
    return folder, sentinel


def test_a_hugging_face_folder_never_runs_its_remote_code(
    bert_with_remote_code: tuple[Path, Path],
    workspace: cl.Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, sentinel = bert_with_remote_code
    monkeypatch.syspath_prepend(str(folder))  # even where its code could be imported by name
    info = workspace.add_hf_model(folder, name="bert")
    assert info.factory == "compresslens.models.hf:from_config"
    assert info.factory_kwargs["config"]["auto_map"] == REMOTE_CODE  # stored, as data only
    assert type(workspace.load_model("bert")).__name__ == "BertForSequenceClassification"
    assert not sentinel.exists() and "remote_code_xyz" not in sys.modules


def test_a_hugging_face_folder_of_an_unknown_type_with_remote_code_is_refused(
    bert_with_remote_code: tuple[Path, Path], workspace: cl.Workspace
) -> None:
    folder, sentinel = bert_with_remote_code
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "evil-bert"}))
    with pytest.raises(FactoryError, match="cannot load a sequence-classification model"):
        workspace.add_hf_model(folder, name="bert")
    assert not sentinel.exists() and workspace.models() == []
