"""Offline English text for the demo language model: Debian's `fortunes` collections.

Each collection is a plain-text file whose entries (quotations) are separated by lines
holding a single "%". Entries, not lines, are the unit of the train/held-out split, so no
quotation is half in each; the split is by position (every k-th entry held out), which
needs no random numbers and gives the same split on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compresslens.errors import DataFormatError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
ENTRY_SEPARATOR = "%"
HELD_OUT_EVERY = 20  # every 20th entry (5%) is held out


@dataclass(frozen=True)
class CorpusSplit:
    """A corpus's entries, split deterministically into training and held-out entries."""

    train: tuple[str, ...]
    held_out: tuple[str, ...]


def parse_fortunes(text: str) -> list[str]:
    """The entries of one fortunes-format text, stripped, empty ones dropped."""
    entries: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.rstrip() == ENTRY_SEPARATOR:
            entries.append("\n".join(current))
            current = []
        else:
            current.append(line.rstrip())
    entries.append("\n".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def fortune_collections(folder: str | Path = FORTUNES_DIR) -> list[Path]:
    """The collection files of a fortunes folder, sorted by name (no .dat index, no link)."""
    root = Path(folder)
    if not root.is_dir():
        raise DataFormatError(
            f"no fortunes collections at {root}: install Debian's fortunes package "
            "(`apt-get install -y fortunes`, or `make data`)"
        )
    files = sorted(
        path
        for path in root.iterdir()
        if path.is_file() and not path.is_symlink() and not path.suffix
    )
    if not files:
        raise DataFormatError(
            f"{root} holds no fortunes collections: install Debian's fortunes package "
            "(`apt-get install -y fortunes`, or `make data`)"
        )
    return files


def read_fortunes(
    folder: str | Path = FORTUNES_DIR, collections: Iterable[str] | None = None
) -> list[str]:
    """Every entry of the collections in `folder` (all of them, or those named), in order.

    Collections are read in name order and decoded as UTF-8 (undecodable bytes replaced),
    so the same files always give the same entries.
    """
    files = fortune_collections(folder)
    if collections is not None:
        wanted = list(collections)
        known = {path.name: path for path in files}
        missing = [name for name in wanted if name not in known]
        if missing:
            raise DataFormatError(
                f"no fortunes collection {', '.join(map(repr, missing))} in {folder}; "
                f"there are {', '.join(sorted(known))}"
            )
        files = [known[name] for name in sorted(set(wanted))]
    entries: list[str] = []
    for path in files:
        entries.extend(parse_fortunes(path.read_bytes().decode("utf-8", errors="replace")))
    return entries


def split_entries(entries: Sequence[str], held_out_every: int = HELD_OUT_EVERY) -> CorpusSplit:
    """Entries at positions k-1, 2k-1, … held out (every k-th), the rest for training."""
    if held_out_every < 2:
        raise DataFormatError(f"held_out_every must be at least 2, got {held_out_every}")
    if len(entries) < held_out_every:
        raise DataFormatError(
            f"a corpus of {len(entries)} entries has none to hold out "
            f"(every {held_out_every}th entry is held out)"
        )
    train = tuple(e for i, e in enumerate(entries) if (i + 1) % held_out_every)
    held_out = tuple(e for i, e in enumerate(entries) if (i + 1) % held_out_every == 0)
    return CorpusSplit(train=train, held_out=held_out)
