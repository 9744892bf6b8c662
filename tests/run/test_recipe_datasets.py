"""Recipe datasets: Fashion-MNIST splits registered once, with the demo's subgroup attributes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import recipe_from

import compresslens as cl
import compresslens.run.datasets as recipe_datasets
from compresslens.data.fashion_mnist import FASHION_MNIST_DIR
from compresslens.run.datasets import prepare_datasets

pytestmark = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason="Fashion-MNIST is not installed (make data)"
)
RECIPE = """\
datasets:
  small-train: {source: fashion-mnist, split: train, limit: 300}
base:
  factory: compresslens.models.zoo:lean_cnn
  train: {dataset: small-train}
"""


def test_a_fashion_mnist_split_is_registered_with_attributes(
    tmp_path: Path, workspace: cl.Workspace
) -> None:
    prepare_datasets(workspace, recipe_from(tmp_path, RECIPE))
    info = workspace.dataset("small-train")
    assert info.num_instances == 300 and info.num_classes == 10
    assert info.input_shape == [1, 28, 28] and info.modality == "image"
    assert info.attribute_names == ["brightness", "ink_coverage"]
    assert "split=train limit=300" in info.description


def test_a_registered_split_is_not_read_again(
    tmp_path: Path, workspace: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = recipe_from(tmp_path, RECIPE)
    prepare_datasets(workspace, recipe)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the files were read again")

    monkeypatch.setattr(recipe_datasets, "load_fashion_mnist", refuse)
    prepare_datasets(workspace, recipe)
    assert [d.name for d in workspace.datasets()] == ["small-train"]


def test_a_different_limit_under_the_same_name_is_refused(
    tmp_path: Path, workspace: cl.Workspace
) -> None:
    prepare_datasets(workspace, recipe_from(tmp_path, RECIPE))
    other = recipe_from(tmp_path, RECIPE.replace("limit: 300", "limit: 200"))
    with pytest.raises(cl.CompressLensError, match=r"datasets.small-train: .*already exists"):
        prepare_datasets(workspace, other)
