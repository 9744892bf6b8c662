"""KEY=VALUE options (`-p`, `-k`): every command reads values the same way, as YAML.

`amount=0.5` is a float, `include=[a, b]` a list, `scope=global` a string, as in a recipe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from compresslens.errors import CompressLensError

# PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string; on a command line it is a number
EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def parse_value(text: str) -> Any:
    import yaml  # here, not at the top: only commands given KEY=VALUE pay for it

    value = yaml.safe_load(text)
    if isinstance(value, str) and EXPONENT_NUMBER.fullmatch(value):
        return float(value)
    return value


def parse_key_values(items: Iterable[str] | None, option: str = "--param") -> dict[str, Any]:
    """A dict from KEY=VALUE items; a malformed item or a repeated key is a clear error."""
    import yaml

    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CompressLensError(f"{option} {item!r} must look like KEY=VALUE")
        if key in parsed:
            raise CompressLensError(f"{option} {key!r} is given twice")
        try:
            parsed[key] = parse_value(text)
        except yaml.YAMLError as exc:
            reason = str(exc).splitlines()[0]
            raise CompressLensError(
                f"{option} {key}: {text!r} is not a YAML value ({reason})"
            ) from None
    return parsed
