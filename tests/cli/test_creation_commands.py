"""add-dataset, train and compress: a whole workflow on the command line, no Python."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import fails, succeeds
from safetensors.torch import save_file

import compresslens as cl
from compresslens.data.fashion_mnist import FASHION_MNIST_DIR


@pytest.fixture
def location(digits_workspace: cl.Workspace) -> str:
    return digits_workspace.location


@pytest.fixture
def empty(workspace: cl.Workspace) -> str:
    return workspace.location


def toy_arrays(n: int = 20) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "inputs": rng.random((n, 1, 4, 4), dtype=np.float32),
        "labels": np.arange(n, dtype=np.int64) % 3,
    }


# -- add-dataset -------------------------------------------------------------------------


def test_add_dataset_registers_the_inputs_and_labels_of_an_npz(
    empty: str, workspace: cl.Workspace, tmp_path: Path
) -> None:
    arrays = toy_arrays()
    np.savez(tmp_path / "toy.npz", **arrays)
    document = json.loads(
        succeeds(
            "add-dataset", "toy", str(tmp_path / "toy.npz"), "--class-names", "a,b,c",
            "-w", empty, "--json",
        )
    )  # fmt: skip
    dataset = document["dataset"]
    assert dataset["name"] == "toy" and dataset["num_instances"] == 20
    assert dataset["class_names"] == ["a", "b", "c"] and dataset["input_shape"] == [1, 4, 4]
    stored = workspace.load_dataset("toy")
    assert torch.equal(stored.inputs, torch.from_numpy(arrays["inputs"]))
    assert torch.equal(stored.labels, torch.from_numpy(arrays["labels"]))


def test_add_dataset_reads_a_safetensors_file_and_keeps_the_first_limit_instances(
    empty: str, workspace: cl.Workspace, tmp_path: Path
) -> None:
    arrays = {key: torch.from_numpy(value) for key, value in toy_arrays().items()}
    save_file(arrays, tmp_path / "toy.safetensors")
    text = succeeds(
        "add-dataset", "toy", str(tmp_path / "toy.safetensors"), "--limit", "12", "-w", empty
    )
    assert "toy" in text and "12 instances" in text
    stored = workspace.load_dataset("toy")
    assert torch.equal(stored.inputs, arrays["inputs"][:12])
    assert workspace.dataset("toy").class_names == ["0", "1", "2"]


def test_float64_inputs_are_stored_as_float32_which_models_take(
    empty: str, workspace: cl.Workspace, tmp_path: Path
) -> None:
    arrays = toy_arrays()
    np.savez(
        tmp_path / "toy.npz", inputs=arrays["inputs"].astype(np.float64), labels=arrays["labels"]
    )
    succeeds("add-dataset", "toy", str(tmp_path / "toy.npz"), "-w", empty)
    assert workspace.load_dataset("toy").inputs.dtype == torch.float32


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((3, 2)), "y": np.zeros(3)}, "expected 'inputs' and 'labels'; it has x, y"),
        ({"inputs": np.zeros((3, 2)), "labels": np.arange(4)}, "3 inputs but 4 labels"),
        ({"inputs": np.zeros((3, 2)), "labels": np.zeros(3)}, "labels must be integers"),
    ],
)  # fmt: skip
def test_add_dataset_refuses_an_npz_without_matching_inputs_and_labels(
    empty: str, workspace: cl.Workspace, tmp_path: Path, arrays: dict, message: str
) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    assert message in fails("add-dataset", "bad", str(tmp_path / "bad.npz"), "-w", empty)
    assert workspace.datasets() == []


def test_add_dataset_never_unpickles_an_object_array(
    empty: str, workspace: cl.Workspace, tmp_path: Path
) -> None:
    labels = np.arange(2)
    np.savez(tmp_path / "objects.npz", inputs=np.array([{"a": 1}, {"b": 2}]), labels=labels)
    assert "pickle" in fails("add-dataset", "o", str(tmp_path / "objects.npz"), "-w", empty)
    assert workspace.datasets() == []


def test_add_dataset_names_the_tensors_a_safetensors_file_lacks(empty: str, tmp_path: Path) -> None:
    save_file({"images": torch.zeros(3, 2)}, tmp_path / "bad.safetensors")
    message = fails("add-dataset", "bad", str(tmp_path / "bad.safetensors"), "-w", empty)
    assert "expected 'inputs' and 'labels'; it has images" in message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.npz", "no file"),
        ("table.txt", "fashion-mnist:train"),
        ("fashion-mnist:validation", "train or test"),
        ("corrupt.npz", "not an .npz"),
        ("corrupt.safetensors", "not a valid safetensors"),
    ],
)
def test_add_dataset_explains_a_source_it_cannot_read(
    empty: str, tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "table.txt").write_text("a,b\n1,2\n")
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip file")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00" * 16)
    path = source if source.startswith("fashion-mnist") else str(tmp_path / source)
    assert message in fails("add-dataset", "d", path, "-w", empty)


def test_add_dataset_class_names_must_cover_every_label(empty: str, tmp_path: Path) -> None:
    np.savez(tmp_path / "toy.npz", **toy_arrays())
    message = fails(
        "add-dataset", "toy", str(tmp_path / "toy.npz"), "--class-names", "a,b", "-w", empty
    )
    assert "labels go up to 2" in message


@pytest.mark.parametrize("option", [["--tokenizer", "."], ["--max-length", "16"]])
def test_array_files_refuse_the_options_of_texts(
    empty: str, workspace: cl.Workspace, tmp_path: Path, option: list[str]
) -> None:
    np.savez(tmp_path / "toy.npz", **toy_arrays())
    message = fails("add-dataset", "toy", str(tmp_path / "toy.npz"), *option, "-w", empty)
    assert f"{option[0]} is for texts (.jsonl, .csv)" in message
    assert workspace.datasets() == []


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Fashion-MNIST is not installed")
def test_a_fashion_mnist_split_added_here_is_the_one_a_recipe_recognises(
    empty: str, workspace: cl.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compresslens.run.datasets as recipe_datasets
    from compresslens.run.datasets import prepare_datasets
    from compresslens.run.recipe import load_recipe

    succeeds("add-dataset", "fm", "fashion-mnist:test", "--limit", "50", "-w", empty)
    info = workspace.dataset("fm")
    assert info.num_instances == 50 and info.class_names[0] == "T-shirt/top"
    assert info.attribute_names == ["brightness", "ink_coverage"]

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the recipe read the files again")

    monkeypatch.setattr(recipe_datasets, "load_fashion_mnist", refuse)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "datasets:\n  fm: {source: fashion-mnist, split: test, limit: 50}\n"
        "base:\n  factory: compresslens.models.zoo:lean_cnn\n  train: {dataset: fm}\n"
    )
    prepare_datasets(workspace, load_recipe(recipe))
    assert [d.name for d in workspace.datasets()] == ["fm"]


def test_fashion_mnist_keeps_its_own_class_names(empty: str) -> None:
    message = fails("add-dataset", "fm", "fashion-mnist:test", "--class-names", "a,b", "-w", empty)
    assert "class names" in message


# -- add-model --factory -----------------------------------------------------------------


def test_add_model_builds_a_factory_with_its_kwargs_and_records_the_input_shape(
    location: str, digits_workspace: cl.Workspace
) -> None:
    document = json.loads(
        succeeds(
            "add-model", "wide", "--factory", "factories:digits_mlp", "-k", "hidden=48",
            "--input-shape", "64", "-w", location, "--json",
        )
    )  # fmt: skip
    model = document["model"]
    assert model["name"] == "wide" and model["source"] == "added"
    assert model["factory"] == "factories:digits_mlp" and model["factory_kwargs"] == {"hidden": 48}
    assert model["input_spec"]["shape"] == [64]
    assert digits_workspace.load_model("wide").body[0].out_features == 48
    evaluated = succeeds("evaluate", "wide", "-d", "digits", "--no-latency", "-w", location)
    assert evaluated.startswith("digits: accuracy")


def test_add_model_prints_id_name_parameters_and_input(
    location: str, digits_workspace: cl.Workspace
) -> None:
    text = succeeds(
        "add-model", "m", "--factory", "factories:digits_mlp", "--input-shape", "[1, 8, 8]",
        "-w", location,
    )  # fmt: skip
    info = digits_workspace.model("m")
    assert f"{info.id[:8]}  m  (factories:digits_mlp)" in text
    assert "2.41k parameters" in text and "input: [1, 8, 8] float32" in text


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_add_model_loads_weights_from_safetensors_or_tensors_only_pt(
    location: str,
    digits_workspace: cl.Workspace,
    trained_mlp_state: dict[str, torch.Tensor],
    tmp_path: Path,
    suffix: str,
) -> None:
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pt":
        torch.save(trained_mlp_state, path)
    else:
        save_file(trained_mlp_state, path)
    succeeds("add-model", "copy", "--factory", "factories:digits_mlp", "--weights", str(path),
             "-w", location)  # fmt: skip
    loaded = digits_workspace.load_model("copy").state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in trained_mlp_state.items())
    assert digits_workspace.model("copy").input_spec["shape"] == [64]  # from the digits


def test_add_model_without_weights_is_seeded_so_the_same_command_is_a_no_op(
    location: str, digits_workspace: cl.Workspace
) -> None:
    command = ("add-model", "fresh", "--factory", "factories:digits_mlp", "-w", location)
    first = json.loads(succeeds(*command, "--json"))["model"]["id"]
    assert json.loads(succeeds(*command, "--json"))["model"]["id"] == first
    assert [m.name for m in digits_workspace.models()] == ["mlp", "fresh"]


class Pickled:
    """Not a tensor: torch.save pickles it, and a tensors-only load refuses it."""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--factory", "factories:digits_mlp", "--input-shape", "1,x"],
         "--input-shape '1,x' must be sizes separated by commas, e.g. 1,28,28 (the shape of "
         "one instance, without the batch dimension)"),
        (["--factory", "factories:digits_mlp", "--input-shape", "3,0"], "has a size 0"),
        (["--factory", "factories:digits_mlp", "--input-shape", "3,5"],
         "does not run on an input of shape [3, 5] (one instance, without the batch dimension)"),
        (["--factory", "factories:nothing_here"], "has no attribute 'nothing_here'"),
        (["--factory", "factories:not_a_module"], "nn.Module"),
        (["--factory", "factories:digits_mlp", "-k", "hidden=8", "-k", "hidden=9"],
         "--kwarg 'hidden' is given twice"),
        (["--factory", "factories:digits_mlp", "--weights", "w.pkl"],
         "give a state dict saved as .safetensors or .bin or .pt or .pth"),
        (["--factory", "factories:digits_mlp", "--weights", "absent.pt"], "does not exist"),
        (["--factory", "factories:digits_mlp", "--weights", "pickled.pt"], "as tensors only"),
        (["--factory", "factories:digits_mlp", "--weights", "other.safetensors"],
         "missing"),
        (["--factory", "factories:digits_mlp", "--task", "causal-lm"],
         "--task goes with --hf, not with --factory"),
        (["--factory", "factories:digits_mlp", "--num-labels", "3"], "--num-labels goes with"),
        (["--hf", ".", "--factory", "factories:digits_mlp"], "give either --hf FOLDER"),
        ([], "give either --hf FOLDER (a Hugging Face model folder) or --factory"),
        (["--factory", "__main__:digits_mlp"], "lives in the running script"),
    ],
)  # fmt: skip
def test_add_model_refuses_bad_input_and_stores_nothing(
    location: str,
    digits_workspace: cl.Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    torch.save({"weight": Pickled()}, tmp_path / "pickled.pt")
    save_file({"weight": torch.zeros(2, 2)}, tmp_path / "other.safetensors")
    assert message in fails("add-model", "new", *arguments, "-w", location)
    assert [m.name for m in digits_workspace.models()] == ["mlp"]


def test_a_pt_file_holding_an_object_is_refused_without_advice_to_unpickle_it(
    location: str, digits_workspace: cl.Workspace, tmp_path: Path
) -> None:
    torch.save({"weight": Pickled()}, tmp_path / "pickled.pt")
    message = fails("add-model", "new", "--factory", "factories:digits_mlp", "--weights",
                    str(tmp_path / "pickled.pt"), "-w", location)  # fmt: skip
    assert "holds a pickled object (test_creation_commands.Pickled)" in message
    assert "save a state dict of tensors" in message and "weights_only" not in message
    assert [m.name for m in digits_workspace.models()] == ["mlp"]


def test_add_model_refuses_a_name_taken_by_another_model(location: str) -> None:
    message = fails("add-model", "mlp", "--factory", "factories:digits_mlp", "-k", "hidden=8",
                    "-w", location)  # fmt: skip
    assert "a model named 'mlp' already exists" in message


# -- train -------------------------------------------------------------------------------


def test_train_fits_a_factory_with_its_kwargs_and_training_parameters(
    location: str, digits_workspace: cl.Workspace
) -> None:
    document = json.loads(
        succeeds(
            "train", "factories:digits_mlp", "--dataset", "digits", "-k", "hidden=16",
            "-p", "epochs=1", "-p", "limit=200", "-p", "lr=1e-2", "--seed", "3",
            "--name", "small", "-w", location, "--json",
        )
    )  # fmt: skip
    model = document["model"]
    assert model["name"] == "small" and model["factory_kwargs"] == {"hidden": 16}
    assert model["operation"]["name"] == "train.scratch" and model["operation"]["seed"] == 3
    params = model["operation"]["params"]
    assert params["epochs"] == 1 and params["limit"] == 200 and params["lr"] == 0.01
    assert digits_workspace.load_model("small").body[0].out_features == 16


def test_train_prints_the_id_and_name_and_can_evaluate(location: str) -> None:
    text = succeeds(
        "train", "factories:digits_mlp", "-d", "digits", "-p", "limit=100",
        "--evaluate", "digits", "--no-latency", "-w", location,
    )  # fmt: skip
    assert "digits_mlp-seed0#" in text and "accuracy" in text


def test_train_refuses_a_bad_training_parameter_and_stores_nothing(
    location: str, digits_workspace: cl.Workspace
) -> None:
    message = fails(
        "train", "factories:digits_mlp", "-d", "digits", "-p", "epochs=0", "-w", location
    )
    assert "epochs" in message
    assert [m.name for m in digits_workspace.models()] == ["mlp"]


def test_a_parameter_without_an_equals_sign_is_refused(location: str) -> None:
    message = fails("train", "factories:digits_mlp", "-d", "digits", "-k", "hidden", "-w", location)
    assert "--kwarg 'hidden' must look like KEY=VALUE" in message


# -- compress ----------------------------------------------------------------------------


def test_compress_stores_the_child_with_typed_parameters_and_evaluates_it(
    location: str, digits_workspace: cl.Workspace
) -> None:
    document = json.loads(
        succeeds(
            "compress", "mlp", "prune.magnitude", "-p", "amount=0.5", "-p", "scope=global",
            "-p", "exclude=[classifier]", "--name", "half", "--evaluate", "digits",
            "--no-latency", "-w", location, "--json",
        )
    )  # fmt: skip
    model = document["model"]
    assert model["name"] == "half"
    params = model["operation"]["params"]
    assert params["amount"] == 0.5 and params["scope"] == "global"
    assert params["exclude"] == ["classifier"]
    (evaluation,) = document["evaluations"]
    assert evaluation["dataset_name"] == "digits" and evaluation["metrics"]["accuracy"] > 0.5
    assert digits_workspace.model("half").metrics["digits"]["accuracy"] == pytest.approx(
        evaluation["metrics"]["accuracy"]
    )


def test_compress_prints_id_name_accuracy_and_sizes(
    location: str, digits_workspace: cl.Workspace
) -> None:
    text = succeeds(
        "compress", "mlp", "prune.magnitude", "-p", "amount=0.8", "--evaluate", "digits",
        "--no-latency", "-w", location,
    )  # fmt: skip
    child = next(m for m in digits_workspace.models() if m.name != "mlp")
    assert child.id[:8] in text and child.name in text
    assert "digits: accuracy" in text and "compressed" in text and "non-zero" in text


def test_compress_with_a_teacher_records_it_as_a_second_parent(
    location: str, digits_workspace: cl.Workspace
) -> None:
    succeeds(
        "compress", "mlp", "prune.magnitude", "-p", "amount=0.5", "--name", "p", "-w", location
    )
    document = json.loads(
        succeeds(
            "compress", "p", "train.distill", "-p", "dataset=digits", "-p", "limit=100",
            "--teacher", "mlp", "--seed", "1", "-w", location, "--json",
        )
    )  # fmt: skip
    operation = document["model"]["operation"]
    roles = {digits_workspace.model(p["id"]).name: p["role"] for p in operation["parents"]}
    assert roles == {"p": "input", "mlp": "teacher"} and operation["seed"] == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["prune.magnitud"], "did you mean 'prune.magnitude'"),
        (["prune.magnitude", "-p", "amount=2"], "amount"),
        (["prune.magnitude", "-p", "amuont=0.5"], "amuont"),
        (["prune.magnitude", "--evaluate", "nope"], "no dataset"),
    ],
)
def test_compress_refuses_bad_input_and_stores_nothing(
    location: str, digits_workspace: cl.Workspace, arguments: list[str], message: str
) -> None:
    assert message in fails("compress", "mlp", *arguments, "-w", location)
    assert [m.name for m in digits_workspace.models()] == ["mlp"]


# -- --path / COMPRESSLENS_PATH ----------------------------------------------------------


@pytest.fixture
def own_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A folder holding a user's factory module that is not importable until named."""
    name = f"user_nets_{tmp_path.name.replace('-', '_')}"
    folder = tmp_path / "my models"
    folder.mkdir()
    (folder / f"{name}.py").write_text(
        textwrap.dedent(
            """\
            from torch import nn

            def tiny(num_classes: int = 10) -> nn.Module:
                return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))
            """
        )
    )
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored after the test
    yield folder, name
    sys.modules.pop(name, None)


def test_add_model_imports_a_users_own_module_from_path(
    location: str, digits_workspace: cl.Workspace, own_module: tuple[Path, str]
) -> None:
    folder, name = own_module
    succeeds("--path", str(folder), "add-model", "mine", "--factory", f"{name}:tiny",
             "-k", "num_classes=10", "--input-shape", "1,8,8", "-w", location)  # fmt: skip
    assert digits_workspace.model("mine").factory == f"{name}:tiny"


def test_path_makes_a_users_own_factory_module_importable(
    location: str, own_module: tuple[Path, str]
) -> None:
    folder, name = own_module
    train = ("train", f"{name}:tiny", "-d", "digits", "-p", "limit=50", "-w", location)
    assert "cannot import" in fails(*train)
    assert "tiny-seed0#" in succeeds("--path", str(folder), *train)


def test_compresslens_path_lists_folders_separated_like_the_os_path(
    location: str, own_module: tuple[Path, str], tmp_path: Path
) -> None:
    import os

    folder, name = own_module
    listed = os.pathsep.join([str(tmp_path / "absent"), str(folder)])
    text = succeeds(
        "train", f"{name}:tiny", "-d", "digits", "-p", "limit=50", "-w", location,
        env={"COMPRESSLENS_PATH": listed},
    )  # fmt: skip
    assert "tiny-seed0#" in text
