"""Per-instance tables as Arrow IPC streams: the efficient path for large arrays.

JSON pages suit a browser table; a script that wants every row of a 100k-instance
comparison should not pay for 100k dicts. `arrow_response` writes a dict of equal-length
numpy columns as one Arrow IPC *stream* (`application/vnd.apache.arrow.stream`), read with
`pyarrow.ipc.open_stream(body).read_all()` (or `apache-arrow`'s `tableFromIPC` in JS).

Column types:

* numbers and booleans keep their numpy type (int64 stays int64, float32 stays float32),
  except float16, which widens (exactly) to float32: many readers lack half floats;
* NaN and ±inf stay float values — no validity bitmap, no nulls. This differs from the JSON
  pages, where they become null (JSON has no NaN); test with `is_nan`, not `is_null`;
* strings (numpy `U`/`S` or object arrays of str) become dictionary<int32, utf8>: a flip
  kind or a class name repeats on every row, so each row costs four bytes;
* a 2-D column [N, K] becomes fixed_size_list<K> (top-k classes, logits).

The context (model names, dataset, total rows, the filter) goes in the schema metadata:
one key per entry, strings verbatim and anything else as JSON (`"total": "1797"`,
`"class_names": "[\\"0\\", ...]"`). The stream is not compressed (not every reader
decompresses IPC buffers); an HTTP layer may gzip it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from fastapi.responses import Response

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def arrow_column(values: np.ndarray) -> pa.Array:
    """One numpy column as an Arrow array, by the rules of the module docstring."""
    values = np.asarray(values)
    if values.dtype == np.float16:
        values = values.astype(np.float32)
    if values.ndim == 2:
        flat = pa.array(np.ascontiguousarray(values).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    if values.ndim != 1:
        raise ValueError(f"columns must be 1-D or 2-D, got shape {values.shape}")
    if values.dtype.kind in "USO":
        array = pa.array(values.astype(str) if values.dtype.kind == "S" else values)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            return array.cast(pa.string()).dictionary_encode()
        return array
    return pa.array(values)  # from_pandas=False: NaN stays a float, never a null


def arrow_table(
    columns: Mapping[str, np.ndarray], metadata: Mapping[str, Any] | None = None
) -> pa.Table:
    """The columns (equal length, in the given order) with the context as schema metadata."""
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns differ in length: {lengths}")
    table = pa.table({name: arrow_column(values) for name, values in columns.items()})
    encoded = {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in (metadata or {}).items()
    }
    return table.replace_schema_metadata(encoded)


def arrow_bytes(table: pa.Table) -> pa.Buffer:
    """The table as one IPC stream: the schema, its record batches, the end marker."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def arrow_response(
    columns: Mapping[str, np.ndarray], metadata: Mapping[str, Any] | None = None
) -> Response:
    """An HTTP response holding the columns as an Arrow IPC stream."""
    buffer = arrow_bytes(arrow_table(columns, metadata))
    return Response(content=memoryview(buffer), media_type=ARROW_STREAM)
