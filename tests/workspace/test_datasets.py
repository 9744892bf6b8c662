"""Registering data: stored once, by content hash, with attributes; bad data refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import compresslens as cl
from compresslens.errors import DataFormatError, DuplicateNameError
from snapshot import workspace_snapshot


def test_tensors_round_trip_with_class_names_and_attributes(
    workspace: cl.Workspace, digits: tuple
) -> None:
    inputs, labels = digits
    group = np.array(["a", "b", "c"] * 599)
    info = workspace.add_dataset(
        "digits", inputs, labels, class_names=list("0123456789"), attributes={"group": group}
    )
    assert info.num_instances == 1797 and info.num_classes == 10
    assert info.input_shape == [64] and info.attribute_names == ["group"]
    arrays = workspace.load_dataset("digits")
    assert torch.equal(arrays.inputs, inputs) and torch.equal(arrays.labels, labels)
    assert arrays.attributes["group"].tolist() == group.tolist()


def test_a_torch_dataset_and_numpy_arrays_are_accepted(workspace: cl.Workspace) -> None:
    x = torch.arange(24, dtype=torch.float32).reshape(6, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    from_torch = workspace.add_dataset("t", torch.utils.data.TensorDataset(x, y))
    from_numpy = workspace.add_dataset("n", (x.numpy(), y.numpy()))
    assert from_torch.content_hash == from_numpy.content_hash
    assert from_torch.num_classes == 3


def test_the_same_content_under_the_same_name_is_stored_once(
    workspace: cl.Workspace, digits: tuple
) -> None:
    first = workspace.add_dataset("digits", *digits)
    files = workspace_snapshot(workspace)["files"]
    second = workspace.add_dataset("digits", *digits)
    assert first.id == second.id and workspace_snapshot(workspace)["files"] == files


def test_different_content_under_a_taken_name_is_refused(
    workspace: cl.Workspace, digits: tuple
) -> None:
    inputs, labels = digits
    workspace.add_dataset("digits", inputs, labels)
    with pytest.raises(DuplicateNameError):
        workspace.add_dataset("digits", inputs[:10], labels[:10])


@pytest.mark.parametrize(
    ("inputs", "labels", "kwargs", "message"),
    [
        (torch.zeros(5, 3), torch.zeros(4, dtype=torch.long), {}, "5 labels|4 labels"),
        (torch.zeros(3, 2), torch.tensor([0.0, 1.0, 1.0]), {}, "integers"),
        (torch.tensor([[0.0], [float("nan")]]), torch.tensor([0, 1]), {}, "NaN"),
        (torch.zeros(2, 2), torch.tensor([0, 5]), {"class_names": ["a", "b"]}, "up to 5"),
        (torch.zeros(2, 2), torch.tensor([0, 1]), {"attributes": {"g": ["x"]}}, "attribute"),
        (torch.zeros(2, 2), torch.tensor([0, -1]), {}, "non-negative"),
    ],
)
def test_malformed_data_is_refused_and_nothing_changes(
    workspace: cl.Workspace, inputs: torch.Tensor, labels: torch.Tensor, kwargs: dict, message: str
) -> None:
    before = workspace_snapshot(workspace)
    with pytest.raises(DataFormatError, match=message):
        workspace.add_dataset("bad", inputs, labels, **kwargs)
    assert workspace_snapshot(workspace) == before


def test_image_instances_render_as_png_and_text_instances_as_text(
    workspace: cl.Workspace,
) -> None:
    images = torch.rand(3, 1, 28, 28)
    workspace.add_dataset("images", images, torch.tensor([0, 1, 0]))
    png = workspace.render_instance("images", 1)
    assert Image.open(io.BytesIO(png)).size == (56, 56)
    workspace.add_dataset(
        "texts",
        torch.zeros(2, 4, dtype=torch.long),
        torch.tensor([0, 1]),
        texts=["good film", "bad film"],
    )
    assert workspace.dataset("texts").modality == "text"
    assert workspace.render_instance("texts", 1) == "bad film"
