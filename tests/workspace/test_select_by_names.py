"""A selector of plain ids, names and id prefixes, looked up instead of scanned: same answer."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from compresslens.errors import NotFoundError
from compresslens.workspace.selectors import matches, reads_only_names, select_models


class Named(NamedTuple):
    id: str
    name: str


MODELS = [
    Named("abcd1234", "first"),
    Named("ffff0000", "abcd"),  # a name that is also another model's id prefix
    Named("abcd9999", "third"),
]


def refuse(ref: str) -> Named:
    raise NotFoundError(f"no model {ref!r}")


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("abcd", ["abcd1234", "ffff0000", "abcd9999"]),
        ("third,first", ["abcd9999", "abcd1234"]),
        ("abcd1234, abcd1234", ["abcd1234"]),
        ("ffff", ["ffff0000"]),
    ],
)
def test_names_and_prefixes_pick_what_a_scan_picks(selector: str, expected: list[str]) -> None:
    assert reads_only_names(selector)
    picked = [m.id for m in select_models(MODELS, selector, refuse)]
    scanned = [m.id for term in selector.split(",") for m in MODELS if matches(m, term.strip())]
    assert picked == expected == list(dict.fromkeys(scanned))


def test_a_short_or_unknown_term_is_resolved_and_named() -> None:
    with pytest.raises(NotFoundError, match="'abc'"):
        select_models(MODELS, "abc", refuse)


def test_patterns_are_not_names() -> None:
    assert not any(reads_only_names(s) for s in ("tag:x", "amount=0.5", "a&b", "op:prune"))
