"""The per-instance table of a 100k-instance comparison: JSON rows versus one Arrow stream.

The table is `Comparison.instances()` itself, computed from real per-instance outputs
(`instance_outputs` on synthetic logits, C classes) of a base and a model that re-draws
~10% of the base's predictions; a stand-in workspace hands those outputs and logits to the
Comparison, so no database or artifact I/O is timed or needed. Then, for every row sorted
by KL (what `GET /api/compare/instances` does before it serialises):

* JSON: the route's page path for all rows at once — a dict per row, `jsonable`, FastAPI's
  `jsonable_encoder` (which it applies to a returned dict) and `JSONResponse` rendering.
  The real route caps a page at 500 rows, so a client would make N/500 requests;
* Arrow: `format=arrow` — gather the sorted rows, `arrow_table`, `arrow_bytes`.

Prints bytes, median wall milliseconds and the time ratios (medians of per-pair ratios, each
body timed alternating with Arrow) (also gzip -6 bytes, for a
server behind a compressing proxy), and the Arrow read-back time with pyarrow.

    python benchmarks/bench_arrow.py [--instances 100000] [--classes 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gzip
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow.ipc
import torch
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from compresslens.evaluate.outputs import instance_outputs
from compresslens.jsonable import jsonable
from compresslens.server.arrow import arrow_bytes, arrow_table
from compresslens.workspace.comparison import Comparison
from timing import alternating, load_line, median_timed


class StandIn:
    """The two ComparisonSources methods a Comparison's per-instance table reads."""

    def __init__(self, outputs: dict[str, Any], logits: dict[str, torch.Tensor]) -> None:
        self._outputs, self._logits = outputs, logits

    def outputs(self, model: Any) -> dict[str, np.ndarray]:
        return self._outputs[model.id]

    def logits(self, model: Any) -> torch.Tensor:
        return self._logits[model.id]


def synthetic_comparison(instances: int, classes: int, seed: int = 0) -> Comparison:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, instances)
    base_pred = np.where(rng.random(instances) < 0.8, labels, rng.integers(0, classes, instances))
    base_logits = rng.normal(size=(instances, classes)).astype(np.float32)
    base_logits[np.arange(instances), base_pred] += 4.0
    logits = base_logits + rng.normal(scale=0.5, size=base_logits.shape).astype(np.float32)
    redrawn = np.flatnonzero(rng.random(instances) < 0.1)
    logits[redrawn, rng.integers(0, classes, redrawn.size)] += 6.0
    y = torch.as_tensor(labels)
    stored = {  # float16 logits, as an evaluation keeps them
        "base": torch.as_tensor(base_logits).half(),
        "model": torch.as_tensor(logits).half(),
    }
    outputs = {k: instance_outputs(v.float(), y) for k, v in stored.items()}
    dataset = SimpleNamespace(
        id="data", name="synthetic", class_names=list(map(str, range(classes)))
    )
    return Comparison(
        StandIn(outputs, stored),  # type: ignore[arg-type]
        SimpleNamespace(id="base", name="base"),  # type: ignore[arg-type]
        SimpleNamespace(id="model", name="model"),  # type: ignore[arg-type]
        dataset,  # type: ignore[arg-type]
        n_boot=0,
    )


def json_body(table: dict[str, np.ndarray], order: np.ndarray, context: dict[str, Any]) -> bytes:
    """What the JSON route does for one page, with the page being every row."""
    columns = list(table)
    content = jsonable(
        {**context, "columns": columns, "rows": [{c: table[c][i] for c in columns} for i in order]}
    )
    return JSONResponse(jsonable_encoder(content)).body


def columnar_json_body(
    table: dict[str, np.ndarray], order: np.ndarray, context: dict[str, Any]
) -> bytes:
    """The cheapest honest JSON for reference: one list per column, no row dicts."""
    content = jsonable({**context, "columns": {c: v[order] for c, v in table.items()}})
    return JSONResponse(content).body


def arrow_body(table: dict[str, np.ndarray], order: np.ndarray, context: dict[str, Any]) -> bytes:
    """What the route does with format=arrow."""
    return arrow_bytes(arrow_table({c: v[order] for c, v in table.items()}, context))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    comparison = synthetic_comparison(args.instances, args.classes)
    table = comparison.instances()
    order = np.argsort(-np.abs(table["kl"]), kind="stable")
    context = {
        "base": "base",
        "model": "model",
        "dataset": "synthetic",
        "class_names": comparison.dataset.class_names,
        "total": args.instances,
        "sort": "kl",
    }
    n = args.instances
    print(f"instances table: {n:,} rows × {len(table)} columns ({', '.join(table)})")

    json_pair = alternating(
        lambda: arrow_body(table, order, context),
        lambda: json_body(table, order, context),
        args.repeats,
    )
    columnar_pair = alternating(
        lambda: arrow_body(table, order, context),
        lambda: columnar_json_body(table, order, context),
        args.repeats,
    )
    arrow_s, json_s = json_pair.first.wall, json_pair.second.wall
    columnar_s = columnar_pair.second.wall
    arrow_buffer, json_bytes = json_pair.results
    columnar_bytes = columnar_pair.results[1]
    arrow_bytes_ = arrow_buffer.to_pybytes()
    read, read_back = median_timed(
        lambda: pyarrow.ipc.open_stream(arrow_bytes_).read_all(), args.repeats
    )
    read_s = read.wall
    assert read_back.num_rows == n
    json_gz, arrow_gz = len(gzip.compress(json_bytes, 6)), len(gzip.compress(arrow_bytes_, 6))
    columnar_gz = len(gzip.compress(columnar_bytes, 6))

    print(f"{load_line()}; medians of {args.repeats}")
    print(f"{'':22} {'bytes':>12} {'gzip -6 bytes':>14} {'ms':>9}")
    for name, body, gz, seconds in (
        ("JSON rows (the route)", json_bytes, json_gz, json_s),
        ("JSON columns (ref.)", columnar_bytes, columnar_gz, columnar_s),
        ("Arrow IPC stream", arrow_bytes_, arrow_gz, arrow_s),
    ):
        print(f"{name:22} {len(body):>12,} {gz:>14,} {seconds * 1e3:>9.1f}")
    print(
        f"JSON rows / Arrow: {len(json_bytes) / len(arrow_bytes_):.1f}× bytes, "
        f"{json_gz / arrow_gz:.1f}× gzip bytes, {json_pair.ratio:.0f}× time "
        f"(JSON columns / Arrow: {len(columnar_bytes) / len(arrow_bytes_):.1f}× bytes, "
        f"{columnar_pair.ratio:.0f}× time)"
    )
    print(
        f"Arrow read-back with pyarrow: {read_s * 1e6:.0f} µs (zero-copy); "
        f"JSON pages cap at 500 rows: {-(-n // 500)} requests for the same rows"
    )


if __name__ == "__main__":
    main()
