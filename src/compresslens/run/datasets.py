"""Make a recipe's datasets present in the workspace before anything trains or evaluates.

A Fashion-MNIST split is registered once, with the pixel-derived subgroup attributes the demo
uses (so a split registered by `compresslens demo` is the same dataset); a rerun recognises
it by the source line in its description and skips re-reading the files.
"""

from __future__ import annotations

from typing import Any

from compresslens.data.attributes import brightness_tercile, ink_coverage_tercile
from compresslens.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    images_to_tensor,
    load_fashion_mnist,
)
from compresslens.errors import CompressLensError
from compresslens.records import DatasetInfo
from compresslens.run.recipe import DatasetSpec, Recipe


def source_line(spec: DatasetSpec) -> str:
    """The line a dataset's description carries to say which files and limit made it."""
    limit = "all" if spec.limit is None else spec.limit
    return f"recipe source: {spec.source} split={spec.split} limit={limit}"


def prepare_datasets(ws: Any, recipe: Recipe) -> None:
    """Register each declared dataset that the workspace lacks; check the others exist."""
    for name, spec in recipe.datasets.items():
        existing = ws.store.find_dataset_by_name(name)
        if spec.source == "workspace":
            if existing is None:
                known = ", ".join(d.name for d in ws.datasets()) or "none"
                raise recipe.source.error(
                    ("datasets", name),
                    f"dataset {name!r} is not in workspace {ws.location} (it has: {known})",
                )
            continue
        if existing is not None and source_line(spec) in existing.description:
            continue
        try:
            add_fashion_mnist(ws, name, spec)
        except CompressLensError as exc:
            raise recipe.source.error(("datasets", name), str(exc)) from None


def add_fashion_mnist(ws: Any, name: str, spec: DatasetSpec) -> DatasetInfo:
    """Read one split and register it as the recipe does (`compresslens add-dataset` too)."""
    assert spec.split is not None
    images, labels = load_fashion_mnist(spec.split, limit=spec.limit)
    return ws.add_dataset(
        name,
        images_to_tensor(images),
        labels,
        class_names=list(FASHION_MNIST_CLASSES),
        attributes={
            "brightness": brightness_tercile(images),
            "ink_coverage": ink_coverage_tercile(images),
        },
        modality="image",
        description=(
            f"Fashion-MNIST {spec.split} split (Debian dataset-fashion-mnist), "
            f"{len(labels)} images. Subgroup attributes brightness and ink_coverage are "
            f"terciles computed from the pixels by compresslens.\n{source_line(spec)}"
        ),
    )
