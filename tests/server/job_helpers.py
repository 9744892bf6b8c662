"""What the job tests share: a lookup that finds nothing stored, and waiting on a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from compresslens.errors import NotComputedError

TIMEOUT_S = 60.0


def not_stored() -> Any:
    raise NotComputedError("not stored yet")


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll until `condition()` holds; fail (not hang) after TIMEOUT_S."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
