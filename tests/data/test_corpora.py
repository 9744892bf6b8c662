"""Fortunes-format corpora: entries between "%" lines, split by position, read in name order."""

from __future__ import annotations

from pathlib import Path

import pytest

from compresslens.data.corpora import (
    FORTUNES_DIR,
    fortune_collections,
    parse_fortunes,
    read_fortunes,
    split_entries,
)
from compresslens.errors import DataFormatError


def write_collection(folder: Path, name: str, entries: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n%\n".join(entries) + "\n%\n")
    return path


def test_entries_are_the_texts_between_percent_lines_stripped() -> None:
    text = "First line\n  second line  \n%\n\n%\nAnother one.\n\t-- Someone\n%\nlast, no %"
    assert parse_fortunes(text) == [
        "First line\n  second line",
        "Another one.\n\t-- Someone",
        "last, no %",
    ]


def test_a_percent_inside_a_line_does_not_separate_entries() -> None:
    assert parse_fortunes("100% sure\n%\n50 % off\n") == ["100% sure", "50 % off"]


def test_collections_are_read_in_name_order_without_index_files_or_links(
    tmp_path: Path,
) -> None:
    write_collection(tmp_path, "zen", ["z1", "z2"])
    write_collection(tmp_path, "art", ["a1"])
    (tmp_path / "art.dat").write_bytes(b"\x00\x01binary index")
    (tmp_path / "art.u8").symlink_to(tmp_path / "art")
    assert [path.name for path in fortune_collections(tmp_path)] == ["art", "zen"]
    assert read_fortunes(tmp_path) == ["a1", "z1", "z2"]


def test_named_collections_are_read_alone_and_unknown_names_refused(tmp_path: Path) -> None:
    write_collection(tmp_path, "zen", ["z1"])
    write_collection(tmp_path, "art", ["a1"])
    assert read_fortunes(tmp_path, collections=["zen"]) == ["z1"]
    with pytest.raises(DataFormatError, match=r"no fortunes collection 'nope'.*art, zen"):
        read_fortunes(tmp_path, collections=["nope"])


def test_undecodable_bytes_are_replaced_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "latin").write_bytes(b"caf\xe9\n%\nok\n")
    assert read_fortunes(tmp_path) == ["caf\ufffd", "ok"]


def test_a_missing_package_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"apt-get install -y fortunes.*make data"):
        read_fortunes(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no fortunes collections"):
        read_fortunes(tmp_path / "empty")


def test_every_kth_entry_is_held_out_and_the_rest_trains() -> None:
    entries = [f"e{i}" for i in range(10)]
    split = split_entries(entries, held_out_every=4)
    assert split.held_out == ("e3", "e7")
    assert split.train == ("e0", "e1", "e2", "e4", "e5", "e6", "e8", "e9")


def test_a_split_needs_an_entry_to_hold_out() -> None:
    with pytest.raises(DataFormatError, match="has none to hold out"):
        split_entries(["a", "b"], held_out_every=3)
    with pytest.raises(DataFormatError, match="at least 2"):
        split_entries(["a", "b"], held_out_every=1)


@pytest.mark.slow
def test_the_installed_fortunes_give_thousands_of_entries_five_percent_held_out() -> None:
    if not FORTUNES_DIR.is_dir():
        pytest.skip(f"Debian's fortunes package is not installed ({FORTUNES_DIR} missing)")
    entries = read_fortunes()
    split = split_entries(entries)
    assert len(entries) > 10_000
    assert len(split.train) + len(split.held_out) == len(entries)
    assert len(split.held_out) == len(entries) // 20
    assert split.held_out[0] == entries[19]
