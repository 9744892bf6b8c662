"""Labelled texts from JSON lines and CSV: labels as ids or names, errors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from compresslens.data.text_files import (
    LabelledTexts,
    TextRecord,
    class_ids_of,
    labelled_texts,
    parse_csv,
    parse_jsonl,
    read_csv_texts,
    read_jsonl_texts,
)
from compresslens.errors import DataFormatError


def jsonl(*lines: str) -> list[TextRecord]:
    return list(parse_jsonl([f"{line}\n" for line in lines], "t.jsonl"))


def csv_rows(*lines: str) -> list[TextRecord]:
    """Records of these lines, split as a file opened with newline="" gives them."""
    text = "".join(f"{line}\r\n" for line in lines)
    return list(parse_csv(text.splitlines(keepends=True), "t.csv"))


# -- JSON lines --------------------------------------------------------------------------


def test_each_json_line_gives_its_text_label_and_line_number_and_blank_lines_are_skipped() -> None:
    records = jsonl(
        '{"text": "a cat", "label": 1}', "", '{"label": "dog", "text": "a dog", "x": 3}'
    )
    assert records == [TextRecord(1, "a cat", 1), TextRecord(3, "a dog", "dog")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "a"}', "t.jsonl line 2 lacks 'label' (it has 'text')"),
        ('{"txt": "a", "lable": 0}', "line 2 lacks 'text' and 'label' (it has 'txt', 'lable')"),
        ("{}", "lacks 'text' and 'label' (it has no keys)"),
        ('["a", 0]', "t.jsonl line 2 is a JSON list; expected an object"),
        ('{"text": "a", "label": 0', "t.jsonl line 2 is not JSON"),
        ('{"text": 7, "label": 0}', "line 2: 'text' must be a string, got 7"),
        ('{"text": "a", "label": 1.5}', "line 2: 'label' must be a class id"),
        ('{"text": "a", "label": -1}', "got -1"),
        ('{"text": "a", "label": true}', "got True"),
        ('{"text": "a", "label": " "}', "got ' '"),
    ],
)  # fmt: skip
def test_a_bad_json_line_is_named_with_what_it_lacks(line: str, message: str) -> None:
    with pytest.raises(DataFormatError) as error:
        jsonl('{"text": "fine", "label": 0}', line)
    assert message in str(error.value)


# -- CSV ---------------------------------------------------------------------------------


def test_csv_columns_are_found_by_name_and_quoted_commas_stay_in_the_text() -> None:
    records = csv_rows("id,label,text", '7,sport," goal, then another"', "8,weather,rain")
    assert records == [
        TextRecord(2, " goal, then another", "sport"),
        TextRecord(3, "rain", "weather"),
    ]


def test_a_csv_record_spanning_lines_is_named_by_its_last_line() -> None:
    records = csv_rows("text,label", '"two\nlines",a', "next,b")
    assert [(r.line, r.text) for r in records] == [(3, "two\nlines"), (4, "next")]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["body,topic", "a,b"], "the header must name the columns 'text' and 'label'; "
         "it lacks 'text' and 'label' (it has 'body', 'topic')"),
        (["text,label", "a,b", "just text"], "t.csv line 3 has fewer values than the header"),
        (["text,label", "a,"], "t.csv line 2: the label is empty"),
    ],
)  # fmt: skip
def test_a_csv_without_its_columns_or_values_is_refused(lines: list[str], message: str) -> None:
    with pytest.raises(DataFormatError) as error:
        csv_rows(*lines)
    assert message in str(error.value)


def test_an_empty_csv_has_no_records() -> None:
    assert csv_rows() == []


# -- labels ------------------------------------------------------------------------------


def records(*labels: int | str) -> list[TextRecord]:
    return [TextRecord(line, f"t{line}", label) for line, label in enumerate(labels, start=1)]


def test_labels_of_digits_alone_are_class_ids_whether_written_as_numbers_or_strings() -> None:
    assert [r.label for r in class_ids_of(records("2", 0, "10"))] == [2, 0, 10]
    assert [r.label for r in class_ids_of(records("2", "sport"))] == ["2", "sport"]


def test_names_become_ids_in_the_order_they_first_appear() -> None:
    result = labelled_texts(records("b", "a", "b", "c"), "f")
    assert result == LabelledTexts(["t1", "t2", "t3", "t4"], [0, 1, 0, 2], ["b", "a", "c"])


def test_given_class_names_set_the_order_of_name_labels() -> None:
    result = labelled_texts(records("b", "a"), "f", class_names=["a", "b", "c"])
    assert result.labels == [1, 0] and result.class_names == ["a", "b", "c"]


def test_a_name_outside_the_given_class_names_is_refused_with_its_line() -> None:
    with pytest.raises(DataFormatError) as error:
        labelled_texts(records("a", "x"), "f", class_names=["a", "b"])
    assert "f line 2: label 'x' is not one of the class names given (a, b)" in str(error.value)


def test_class_ids_keep_their_numbers_and_given_names_must_cover_them() -> None:
    assert labelled_texts(records(2, 0), "f") == LabelledTexts(["t1", "t2"], [2, 0], None)
    named = labelled_texts(records(2, 0), "f", class_names=["a", "b", "c"])
    assert named.labels == [2, 0] and named.class_names == ["a", "b", "c"]
    with pytest.raises(DataFormatError) as error:
        labelled_texts(records(2, 0), "f", class_names=["a", "b"])
    assert "f line 1: label 2 but the class names given name 2 classes (ids 0 to 1)" in str(
        error.value
    )


def test_ids_and_names_mixed_are_refused_naming_both_lines() -> None:
    with pytest.raises(DataFormatError) as error:
        labelled_texts(records(0, 1, "sport"), "f")
    assert "f line 3: label 'sport' is a class name, but line 1's label 0 is a class id" in str(
        error.value
    )


def test_no_records_is_an_error() -> None:
    with pytest.raises(DataFormatError, match="f holds no texts"):
        labelled_texts([], "f")


# -- files -------------------------------------------------------------------------------


def test_a_jsonl_file_gives_the_first_limit_texts_and_later_lines_are_not_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\nnot json\n')
    assert read_jsonl_texts(path, limit=2) == LabelledTexts(["a", "b"], [0, 1], ["x", "y"])
    with pytest.raises(DataFormatError, match="line 3 is not JSON"):
        read_jsonl_texts(path)


def test_a_csv_file_with_a_byte_order_mark_and_integer_labels(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("text,label\r\nné,1\r\nb,0\r\n".encode("utf-8-sig"))
    assert read_csv_texts(path) == LabelledTexts(["né", "b"], [1, 0], None)


def test_a_missing_or_non_utf8_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no file"):
        read_csv_texts(tmp_path / "absent.csv")
    (tmp_path / "latin.csv").write_bytes("text,label\ncaf\xe9,a\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match="is not UTF-8 text"):
        read_csv_texts(tmp_path / "latin.csv")
