"""A per-row answer as columns: what a view pages as JSON rows or streams whole as Arrow.

The facade shapes the table once (filtered, sorted); a client only picks the rows to show,
so paging is the same in Python, the CLI and the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from compresslens.jsonable import jsonable


@dataclass(frozen=True)
class ColumnTable:
    """Equal-length columns and what they are about (models, dataset, class names, total)."""

    context: dict[str, Any]
    columns: dict[str, np.ndarray]

    @property
    def total(self) -> int:
        return int(self.context["total"])

    def rows(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows offset … offset+limit (all from offset without a limit) as plain dicts."""
        end = None if limit is None else offset + limit
        page = {name: jsonable(values[offset:end]) for name, values in self.columns.items()}
        return [dict(zip(page, values, strict=True)) for values in zip(*page.values(), strict=True)]

    def page(self, offset: int = 0, limit: int = 100, **setup: Any) -> dict[str, Any]:
        """The JSON page a view shows: the context, the paging (and `setup`), columns, rows."""
        return {
            **jsonable(self.context),
            "offset": offset,
            "limit": limit,
            **setup,
            "columns": list(self.columns),
            "rows": self.rows(offset, limit),
        }
