"""Labelled texts from a JSON-lines or CSV file: one text and one label per record.

A label is a class id (a whole number: 3, or "3" as a CSV writes it) or a class name. Names
become ids in the order `class_names` gives, else in the order they first appear. Every
error names the file and the line, so a user can fix a file of thousands of lines.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from compresslens.errors import DataFormatError

TEXT_KEY, LABEL_KEY = "text", "label"
CLASS_ID = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class TextRecord:
    """One text and its label as the file wrote it (an int id or a str name)."""

    line: int
    text: str
    label: int | str


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[int]
    class_names: list[str] | None  # None: integer labels and no names given


def parse_jsonl(lines: Iterable[str], source: str) -> Iterable[TextRecord]:
    """Records of JSON objects {"text": …, "label": …}, one a line; blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{where} is not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise DataFormatError(
                f'{where} is a JSON {type(item).__name__}; expected an object {{"text": …, '
                '"label": …}'
            )
        missing = [key for key in (TEXT_KEY, LABEL_KEY) if key not in item]
        if missing:
            found = ", ".join(map(repr, item)) or "no keys"
            raise DataFormatError(f"{where} lacks {_and(missing)} (it has {found})")
        text, label = item[TEXT_KEY], item[LABEL_KEY]
        if not isinstance(text, str):
            raise DataFormatError(f"{where}: 'text' must be a string, got {text!r}")
        yield TextRecord(number, text, _json_label(label, where))


def _json_label(label: object, where: str) -> int | str:
    if isinstance(label, int) and not isinstance(label, bool) and label >= 0:
        return label
    if isinstance(label, str) and label.strip():
        return label.strip()
    raise DataFormatError(
        f"{where}: 'label' must be a class id (an integer from 0) or a class name (a "
        f"string), got {label!r}"
    )


def parse_csv(lines: Iterable[str], source: str) -> Iterable[TextRecord]:
    """Records of a CSV file whose header names a `text` and a `label` column.

    Every value in a CSV is a string; `class_ids_of` reads labels of digits alone as ids.
    """
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames
        if header is None:
            return
        missing = [key for key in (TEXT_KEY, LABEL_KEY) if key not in header]
        if missing:
            raise DataFormatError(
                f"{source}: the header must name the columns 'text' and 'label'; it lacks "
                f"{_and(missing)} (it has {', '.join(map(repr, header))})"
            )
        for row in reader:
            where = f"{source} line {reader.line_num}"
            text, label = row[TEXT_KEY], row[LABEL_KEY]
            if text is None or label is None:
                raise DataFormatError(f"{where} has fewer values than the header has columns")
            if not label.strip():
                raise DataFormatError(f"{where}: the label is empty")
            yield TextRecord(reader.line_num, text, label.strip())
    except csv.Error as exc:
        raise DataFormatError(f"{source} line {reader.line_num} is not valid CSV ({exc})") from None


def class_ids_of(records: Sequence[TextRecord]) -> list[TextRecord]:
    """Labels that are all whole numbers (3 or "3") are class ids; otherwise they stay as
    written, so names stay names (and a JSON number among names is refused later)."""
    if all(isinstance(r.label, int) or CLASS_ID.fullmatch(r.label) for r in records):
        return [TextRecord(r.line, r.text, int(r.label)) for r in records]
    return list(records)


def labelled_texts(
    records: Sequence[TextRecord], source: str, class_names: Sequence[str] | None = None
) -> LabelledTexts:
    """Texts and class ids; names are numbered by `class_names`, else by first appearance."""
    if not records:
        raise DataFormatError(f"{source} holds no texts")
    first = records[0]
    for record in records:
        if isinstance(record.label, int) != isinstance(first.label, int):
            raise DataFormatError(
                f"{source} line {record.line}: label {record.label!r} is a "
                f"{_kind(record.label)}, but line {first.line}'s label {first.label!r} is a "
                f"{_kind(first.label)}; give every label the same way"
            )
    texts = [record.text for record in records]
    if isinstance(first.label, int):
        ids = [int(record.label) for record in records]
        if class_names is not None:
            for record, class_id in zip(records, ids, strict=True):
                if class_id >= len(class_names):
                    raise DataFormatError(
                        f"{source} line {record.line}: label {class_id} but the class names "
                        f"given name {len(class_names)} classes (ids 0 to {len(class_names) - 1})"
                    )
        return LabelledTexts(texts, ids, None if class_names is None else list(class_names))
    if class_names is None:
        order = list(dict.fromkeys(str(record.label) for record in records))
    else:
        order = list(class_names)
        for record in records:
            if record.label not in order:
                raise DataFormatError(
                    f"{source} line {record.line}: label {record.label!r} is not one of the "
                    f"class names given ({', '.join(order)})"
                )
    index = {name: position for position, name in enumerate(order)}
    return LabelledTexts(texts, [index[str(record.label)] for record in records], order)


def _kind(label: int | str) -> str:
    return "class id" if isinstance(label, int) else "class name"


def _and(keys: list[str]) -> str:
    return " and ".join(repr(key) for key in keys)


Parser = Callable[[Iterable[str], str], Iterable[TextRecord]]


def read_jsonl_texts(
    path: str | Path, class_names: Sequence[str] | None = None, limit: int | None = None
) -> LabelledTexts:
    """The first `limit` texts and labels of a JSON-lines file."""
    records = class_ids_of(_read_records(Path(path), parse_jsonl, limit))
    return labelled_texts(records, str(path), class_names)


def read_csv_texts(
    path: str | Path, class_names: Sequence[str] | None = None, limit: int | None = None
) -> LabelledTexts:
    """The first `limit` texts and labels of a CSV file with `text` and `label` columns."""
    records = class_ids_of(_read_records(Path(path), parse_csv, limit))
    return labelled_texts(records, str(path), class_names)


def _read_records(path: Path, parse: Parser, limit: int | None) -> list[TextRecord]:
    """A UTF-8 file (a byte-order mark is allowed: spreadsheets write one) read by `parse`."""
    if not path.is_file():
        raise DataFormatError(f"no file {path}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            return list(islice(parse(lines, str(path)), limit))
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path} is not UTF-8 text ({exc.reason})") from None
