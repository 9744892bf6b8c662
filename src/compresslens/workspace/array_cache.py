"""The facade's one in-memory cache: values derived from content-addressed inputs (LRU).

Persisted results go through the store's result cache; this one keeps what is cheap to
recompute but costly to re-read on every request (an outputs column, a dataset's subgroups,
a page's reports), up to a byte budget. A key names content that never changes under it
(an artifact hash, a model's metrics), so a cached value is never stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_BUDGET = 256 << 20


class ArrayCache:
    """Derived values kept up to `max_bytes` (least recently used go first; the newest stays)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def lookup(self, key: Hashable) -> Any | None:
        """The cached value (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            self._sizes[key] = nbytes
            while sum(self._sizes.values()) > self.max_bytes and len(self._items) > 1:
                old, _ = self._items.popitem(last=False)
                del self._sizes[old]

    def get(self, key: Hashable, load: Callable[[], Any], size: Callable[[Any], int]) -> Any:
        """The cached value, or `load()` stored under `key` (a failed load stores nothing)."""
        value = self.lookup(key)
        if value is None:
            value = load()
            self.put(key, value, size(value))
        return value


ARRAYS = ArrayCache(max_bytes=DEFAULT_BUDGET)
"""The process-wide cache every facade module shares (one budget for all of them)."""
