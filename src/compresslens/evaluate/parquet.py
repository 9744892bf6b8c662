"""Per-instance outputs to and from Parquet (fixed-size list columns for the top-k)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def outputs_to_parquet(outputs: dict[str, np.ndarray]) -> bytes:
    columns: dict[str, pa.Array] = {
        "instance": pa.array(np.arange(len(outputs["label"]), dtype=np.int64))
    }
    for name, values in outputs.items():
        if values.ndim == 2:
            flat = pa.array(np.ascontiguousarray(values).reshape(-1))
            columns[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        else:
            columns[name] = pa.array(values)
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="zstd")
    return sink.getvalue()


def outputs_from_parquet(data: bytes) -> dict[str, np.ndarray]:
    table = pq.read_table(io.BytesIO(data))
    result: dict[str, np.ndarray] = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_fixed_size_list(column.type):
            width = column.type.list_size
            result[name] = column.flatten().to_numpy().reshape(-1, width)
        else:
            result[name] = column.to_numpy()
    return result
