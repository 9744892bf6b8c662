"""Where `compresslens add-dataset` reads a dataset from: one function per kind of source.

A source is a file named by its suffix (FILE_SOURCES) or `kind:argument` (NAMED_SOURCES,
e.g. `fashion-mnist:test`); a new kind is one function added to one of the two tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compresslens.errors import DataFormatError
from compresslens.records import DatasetInfo


@dataclass(frozen=True)
class SourceRequest:
    """What the user asked for: the dataset's name, where from, and the options."""

    name: str
    location: str  # a file path, or the argument after `kind:`
    class_names: list[str] | None = None
    limit: int | None = None


AddDataset = Callable[[Any, SourceRequest], DatasetInfo]


def add_array_file(ws: Any, request: SourceRequest) -> DatasetInfo:
    """An .npz or .safetensors file holding arrays `inputs` [N, ...] and `labels` [N]."""
    from compresslens.data.array_files import read_array_file

    inputs, labels = read_array_file(request.location)
    kept = "" if request.limit is None else f", first {request.limit}"
    return ws.add_dataset(
        request.name,
        inputs[: request.limit],
        labels[: request.limit],
        class_names=request.class_names,
        description=f"compresslens add-dataset from {Path(request.location).resolve()}{kept}",
    )


def add_fashion_mnist_split(ws: Any, request: SourceRequest) -> DatasetInfo:
    """Debian's Fashion-MNIST, registered exactly as a recipe's `source: fashion-mnist`."""
    from compresslens.run.datasets import add_fashion_mnist
    from compresslens.run.recipe import DatasetSpec

    if request.location not in ("train", "test"):
        raise DataFormatError(
            f"fashion-mnist:{request.location}: the split is train or test "
            "(fashion-mnist:train, fashion-mnist:test)"
        )
    if request.class_names is not None:
        raise DataFormatError("fashion-mnist has its own class names; leave out --class-names")
    spec = DatasetSpec(source="fashion-mnist", split=request.location, limit=request.limit)
    return add_fashion_mnist(ws, request.name, spec)


FILE_SOURCES: dict[str, AddDataset] = {".npz": add_array_file, ".safetensors": add_array_file}
NAMED_SOURCES: dict[str, AddDataset] = {"fashion-mnist": add_fashion_mnist_split}
# said in --help and in the error for a source no table knows; name a new kind here too
SOURCE_HELP = (
    "FILE.npz or FILE.safetensors (arrays 'inputs' [N, ...] and 'labels' [N]), "
    "fashion-mnist:train or fashion-mnist:test"
)


def add_from_source(
    ws: Any,
    name: str,
    source: str,
    *,
    class_names: list[str] | None = None,
    limit: int | None = None,
) -> DatasetInfo:
    """Read `source` with the function its kind names and register it as `name`."""
    kind, sep, argument = source.partition(":")
    if sep and kind in NAMED_SOURCES:
        return NAMED_SOURCES[kind](ws, SourceRequest(name, argument, class_names, limit))
    add = FILE_SOURCES.get(Path(source).suffix.lower())
    if add is None:
        raise DataFormatError(f"cannot read a dataset from {source!r}: give {SOURCE_HELP}")
    return add(ws, SourceRequest(name, source, class_names, limit))
