"""Reading recipe YAML safely while remembering the line of every value, for error messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from compresslens.run.errors import RecipeError

Path_ = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """('stages', 2, 'grid', 'amount') -> 'stages[2].grid.amount'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "recipe"


@dataclass(frozen=True)
class SourceMap:
    """Where each value of a recipe was written: (path within the document) -> line number."""

    name: str = "<recipe>"
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, or of its closest enclosing value that has one."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get(())

    def where(self, path: Sequence[str | int]) -> str:
        """'recipe.yaml:12: stages[2].grid.amount' — the prefix of every recipe error."""
        line = self.line_of(path)
        at = f"{self.name}:{line}" if line is not None else self.name
        return f"{at}: {format_path(path)}" if path else at

    def error(self, path: Sequence[str | int], message: str) -> RecipeError:
        return RecipeError(f"{self.where(path)}: {message}")


def parse_yaml(text: str, name: str) -> tuple[Any, SourceMap]:
    """The document (via yaml.safe_load) and the line of every value in it."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"{where}: malformed YAML: {problem}") from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _collect_lines(node, (), lines, name)
    return data, SourceMap(name, lines)


def _collect_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], name: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                line = key_node.start_mark.line + 1
                raise RecipeError(f"{name}:{line}: {format_path(path)}: duplicate key {key!r}")
            seen.add(key)
            _collect_lines(value_node, (*path, key), lines, name)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, index), lines, name)
