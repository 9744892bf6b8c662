"""Write a table of equal-length columns to Parquet or CSV, chosen by the file's suffix."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from compresslens.errors import CompressLensError


def write_table(columns: Mapping[str, np.ndarray | list], path: str | Path) -> Path:
    """`.parquet` or `.csv`; the file is written whole or not at all (temp file + rename)."""
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise CompressLensError(f"export to .parquet or .csv, not {path.suffix or path.name!r}")
    table = pa.table({name: pa.array(np.asarray(values)) for name, values in columns.items()})
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if path.suffix == ".parquet":
            pq.write_table(table, tmp)
        else:
            pa_csv.write_csv(table, tmp)
        tmp.replace(path)
    except OSError as exc:  # a missing or read-only folder, a path under a file, a full disk
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise CompressLensError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return path
