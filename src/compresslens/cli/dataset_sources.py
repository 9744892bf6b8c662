"""Where `compresslens add-dataset` reads a dataset from: one function per kind of source.

A source is a file named by its suffix (FILE_SOURCES) or `kind:argument` (NAMED_SOURCES,
e.g. `fashion-mnist:test`); a new kind is one function added to one of the two tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compresslens.data.text_files import LabelledTexts, read_csv_texts, read_jsonl_texts
from compresslens.errors import DataFormatError

if TYPE_CHECKING:
    from compresslens.records import DatasetInfo


@dataclass(frozen=True)
class SourceRequest:
    """What the user asked for: the dataset's name, where from, and the options."""

    name: str
    location: str  # a file path, or the argument after `kind:`
    class_names: list[str] | None = None
    limit: int | None = None
    tokenizer: str | None = None  # a local tokenizer folder, for texts
    max_length: int | None = None  # tokens kept per text (DEFAULT_MAX_LENGTH if not given)


AddDataset = Callable[[Any, SourceRequest], "DatasetInfo"]
DEFAULT_MAX_LENGTH = 128


def _description(request: SourceRequest) -> str:
    kept = "" if request.limit is None else f", first {request.limit}"
    return f"compresslens add-dataset from {Path(request.location).resolve()}{kept}"


def _refuse_tokenizer(request: SourceRequest, source: str) -> None:
    """--tokenizer and --max-length turn texts into token ids; other sources hold no text."""
    for option, value in (("--tokenizer", request.tokenizer), ("--max-length", request.max_length)):
        if value is not None:
            raise DataFormatError(
                f"{option} is for texts (.jsonl, .csv); {source} holds no text: leave it out"
            )


def add_array_file(ws: Any, request: SourceRequest) -> DatasetInfo:
    """An .npz or .safetensors file holding arrays `inputs` [N, ...] and `labels` [N]."""
    from compresslens.data.array_files import read_array_file

    _refuse_tokenizer(request, request.location)
    inputs, labels = read_array_file(request.location)
    return ws.add_dataset(
        request.name,
        inputs[: request.limit],
        labels[: request.limit],
        class_names=request.class_names,
        description=_description(request),
    )


def add_jsonl_texts(ws: Any, request: SourceRequest) -> DatasetInfo:
    """A JSON-lines file, one object {"text": …, "label": …} a line, tokenized."""
    return _add_labelled_texts(ws, request, read_jsonl_texts)


def add_csv_texts(ws: Any, request: SourceRequest) -> DatasetInfo:
    """A CSV file whose header names a `text` and a `label` column, tokenized."""
    return _add_labelled_texts(ws, request, read_csv_texts)


def _add_labelled_texts(
    ws: Any, request: SourceRequest, read: Callable[..., LabelledTexts]
) -> DatasetInfo:
    if request.tokenizer is None:
        raise DataFormatError(
            f"{request.location} holds texts: give --tokenizer FOLDER, a local tokenizer folder "
            "(usually the model's own), to store them as token ids and attention masks"
        )
    texts = read(request.location, class_names=request.class_names, limit=request.limit)
    return ws.add_dataset(
        request.name,
        texts.texts,
        texts.labels,
        class_names=texts.class_names,
        tokenizer=request.tokenizer,
        max_length=DEFAULT_MAX_LENGTH if request.max_length is None else request.max_length,
        description=_description(request),
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
    _refuse_tokenizer(request, "fashion-mnist")
    spec = DatasetSpec(source="fashion-mnist", split=request.location, limit=request.limit)
    return add_fashion_mnist(ws, request.name, spec)


FILE_SOURCES: dict[str, AddDataset] = {
    ".npz": add_array_file,
    ".safetensors": add_array_file,
    ".jsonl": add_jsonl_texts,
    ".csv": add_csv_texts,
}
NAMED_SOURCES: dict[str, AddDataset] = {"fashion-mnist": add_fashion_mnist_split}
# said in --help and in the error for a source no table knows; name a new kind here too
SOURCE_HELP = (
    "FILE.npz or FILE.safetensors (arrays 'inputs' [N, ...] and 'labels' [N]), "
    'FILE.jsonl (one {"text": …, "label": …} a line) or FILE.csv (columns text and '
    "label; both with --tokenizer), fashion-mnist:train or fashion-mnist:test"
)


def add_from_source(
    ws: Any,
    name: str,
    source: str,
    *,
    class_names: list[str] | None = None,
    limit: int | None = None,
    tokenizer: str | None = None,
    max_length: int | None = None,
) -> DatasetInfo:
    """Read `source` with the function its kind names and register it as `name`."""

    def request(location: str) -> SourceRequest:
        return SourceRequest(name, location, class_names, limit, tokenizer, max_length)

    kind, sep, argument = source.partition(":")
    if sep and kind in NAMED_SOURCES:
        return NAMED_SOURCES[kind](ws, request(argument))
    add = FILE_SOURCES.get(Path(source).suffix.lower())
    if add is None:
        raise DataFormatError(f"cannot read a dataset from {source!r}: give {SOURCE_HELP}")
    return add(ws, request(source))
