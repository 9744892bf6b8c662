"""API latency of the UI's endpoints on a synthetic workspace: map/scatter and behaviours.

Builds once (cached under --workspace) a real workspace through the store: one image dataset
of N instances and 10 classes, M models forming a provenance tree (a few trained bases;
magnitude/structured pruning, low-rank, int8 and weight-only quantization, fine-tuning, with
parameters and tags), each with model-level efficiency metrics and one evaluation holding
per-instance outputs for all N instances. No torch model is built: the logits are synthetic
(a base's, then each child's = its parent's plus noise that grows with the compression, so a
few % of predictions flip), turned into outputs and metrics by the same functions
`Workspace.evaluate` uses and written by the same store code
(`compresslens.workspace.stored_outputs.write_evaluation`).

Then a real server (`compresslens serve`'s run_server, uvicorn on 127.0.0.1, its own process)
is timed over HTTP with httpx2 (the dev dependency), on what the views request:
  map + scatter  GET /api/models, /api/datasets (both views draw from these answers)
  behaviours     for a base and 50 models: GET /api/behaviours (per-class changes with
                 bootstrap intervals, n_boot=200), /api/agreement, /api/compare/calibration;
                 for one model: /api/compare/transitions, /api/compare/instances (a page),
                 /api/compare. An endpoint the server lacks is reported as such.
Cold = the first request after the server starts; then p50/p95 over --requests requests after
--warmup requests (fewer for a slow endpoint, see --budget-s); latency = until the body is
received. Baselines, run in this process on the same workspace: the Python API without HTTP
(ws.models() + json.dumps), plain SQL (sqlite3, one SELECT per table) and a plain numpy
behaviours aggregate (the prediction columns of 51 Parquet files + one vectorised bootstrap).
Goals (issue 5): p95 < 150 ms for map/scatter, < 300 ms for behaviour aggregates over 50.

Wall time suffers when other processes share the cores, so the server's CPU time per request
is printed too (from /proc), and the load average.

    python benchmarks/bench_api.py           # quick: 100 models × 10,000 instances (make bench)
    python benchmarks/bench_api.py --full    # the issue's 1,000 models × 100,000 instances
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pyarrow.parquet as pq
import torch

import compresslens as cl
from compresslens.analysis.predictions import per_group_accuracy_change
from compresslens.evaluate.harness import EvaluationResult
from compresslens.evaluate.metrics import classification_metrics
from compresslens.evaluate.outputs import instance_outputs
from compresslens.workspace.stored_outputs import write_evaluation
from timing import alternating

BUILD_VERSION = 1  # bump when the synthetic workspace changes
SEED = 0
CLASSES = 10
MODELS_PER_BASE = 218  # the full subtree below one base (see child_ops)
BEHAVIOUR_MODELS = 50
N_BOOT = 200  # what the Behaviours view asks for
GOAL_MAP_MS = 150.0
GOAL_BEHAVIOURS_MS = 300.0
DATASET = "synthetic-images"
SERVER = (  # what `compresslens serve` runs (--gc-freeze: after gc.freeze())
    "import gc, sys\n"
    "from compresslens.server.app import run_server\n"
    "from compresslens.workspace import Workspace\n"
    "ws = Workspace(sys.argv[1])\n"
    "if sys.argv[3:] == ['freeze']:\n"
    "    gc.freeze()\n"
    "run_server(ws, host='127.0.0.1', port=int(sys.argv[2]))\n"
)


# -- the synthetic provenance tree ----------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One model to register: its edge (operation, params) and model-level efficiency."""

    index: int
    name: str
    parent: int | None
    root: int
    op: str
    params: dict[str, Any]
    tags: tuple[str, ...]
    efficiency: dict[str, float]


@dataclass
class Footprint:
    """What compression does to size and speed, carried from parent to child."""

    parameters: float = 1_200_000.0
    nonzero: float = 1_200_000.0
    bits: int = 32
    macs: float = 40e6
    latency_ms: float = 1.0

    def metrics(self, jitter: float) -> dict[str, float]:
        sparse_index = self.parameters / 8 if self.nonzero < self.parameters else 0.0
        return {
            "parameters": self.parameters,
            "nonzero_parameters": self.nonzero,
            "sparsity": 1.0 - self.nonzero / self.parameters,
            "dense_bytes": self.parameters * 4,
            "compressed_bytes": self.nonzero * self.bits / 8 + sparse_index,
            "macs": self.macs,
            "latency_ms_b1": self.latency_ms * jitter,
        }


def child_ops(op: str) -> list[tuple[str, dict[str, Any]]]:
    """The operations applied below a node of kind `op` (quantized models are leaves)."""
    if op == "train.scratch":
        return (
            [("prune.magnitude", {"amount": a}) for a in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
            + [("prune.magnitude", {"amount": a}) for a in (0.7, 0.8, 0.9, 0.95)]
            + [("prune.structured", {"amount": a}) for a in (0.1, 0.2, 0.3, 0.4, 0.5)]
            + [("lowrank", {"rank_ratio": r}) for r in (0.25, 0.5, 0.75)]
            + [("quantize.dynamic", {"dtype": "qint8"})]
        )
    quantize = [("quantize.dynamic", {"dtype": "qint8"})] + [
        ("quantize.weight_only", {"bits": b}) for b in (4, 8)
    ]
    if op in ("prune.magnitude", "prune.structured", "lowrank"):
        return [("train.finetune", {"epochs": e}) for e in (1, 3)] + quantize
    if op == "train.finetune":
        return quantize
    return []


def apply_footprint(parent: Footprint, op: str, params: dict[str, Any]) -> Footprint:
    f = Footprint(parent.parameters, parent.nonzero, parent.bits, parent.macs, parent.latency_ms)
    if op == "prune.magnitude":
        f.nonzero *= 1 - params["amount"]
    elif op == "prune.structured":
        keep = 1 - params["amount"]
        f.parameters, f.nonzero, f.macs = f.parameters * keep, f.nonzero * keep, f.macs * keep
        f.latency_ms *= 0.2 + 0.8 * keep
    elif op == "lowrank":
        r = params["rank_ratio"]
        f.parameters, f.nonzero, f.macs = f.parameters * r, f.nonzero * r, f.macs * r
        f.latency_ms *= 0.3 + 0.7 * r
    elif op == "quantize.dynamic":
        f.bits, f.latency_ms = 8, f.latency_ms * 0.6
    elif op == "quantize.weight_only":
        f.bits, f.latency_ms = params["bits"], f.latency_ms * 1.05
    return f


STAGE_TAGS = {
    "train.scratch": "base",
    "prune.magnitude": "stage:magnitude",
    "prune.structured": "stage:structured",
    "lowrank": "stage:lowrank",
    "train.finetune": "stage:finetune",
    "quantize.dynamic": "stage:int8",
    "quantize.weight_only": "stage:weight_only",
}


def plan_tree(models: int) -> list[Node]:
    """`models` nodes in breadth-first order over ⌈models / 218⌉ bases (parents come first)."""
    bases = max(1, -(-models // MODELS_PER_BASE))
    rng = np.random.default_rng(SEED)
    nodes: list[Node] = []
    footprints: list[Footprint] = []
    queue: list[int] = []
    for seed in range(bases):
        footprints.append(Footprint())
        nodes.append(
            Node(
                len(nodes),
                f"cnn-s{seed}",
                None,
                len(nodes),
                "train.scratch",
                {"epochs": 10, "lr": 0.001},
                ("base", f"seed:{seed}"),
                footprints[-1].metrics(rng.uniform(0.95, 1.05)),
            )
        )
        queue.append(nodes[-1].index)
    while queue and len(nodes) < models:
        parent = nodes[queue.pop(0)]
        for op, params in child_ops(parent.op):
            if len(nodes) >= models:
                break
            label = ",".join(f"{k}={v}" for k, v in params.items())
            footprints.append(apply_footprint(footprints[parent.index], op, params))
            seed_tag = next(t for t in parent.tags if t.startswith("seed:"))
            nodes.append(
                Node(
                    len(nodes),
                    f"{parent.name}/{op}({label})",
                    parent.index,
                    parent.root,
                    op,
                    params,
                    (STAGE_TAGS[op], seed_tag),
                    footprints[-1].metrics(rng.uniform(0.95, 1.05)),
                )
            )
            queue.append(nodes[-1].index)
    return nodes[:models]


def noise_scale(op: str, params: dict[str, Any]) -> float:
    """How far a child's logits move from its parent's: more compression, more flips."""
    if op == "prune.magnitude":
        return 0.02 + 2.5 * params["amount"] ** 3
    if op == "prune.structured":
        return 0.05 + 3.0 * params["amount"] ** 2
    if op == "lowrank":
        return 0.05 + 1.2 * (1 - params["rank_ratio"]) ** 2
    if op == "quantize.dynamic":
        return 0.08
    if op == "quantize.weight_only":
        return 0.35 if params["bits"] <= 4 else 0.03
    return 0.03


@dataclass
class SyntheticLogits:
    """Logits [N, C] per node: a base's from its seed, a child's from its parent's."""

    nodes: list[Node]
    labels: np.ndarray
    fragility: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # some classes lose more under compression, so per-class changes differ
        self.fragility = np.linspace(0.2, 1.5, CLASSES).astype(np.float32)
        self.logits = lru_cache(maxsize=32)(self._logits)

    def _logits(self, index: int) -> np.ndarray:
        node = self.nodes[index]
        rng = np.random.default_rng([SEED, index])
        n = self.labels.shape[0]
        if node.parent is None:
            logits = rng.standard_normal((n, CLASSES), dtype=np.float32)
            logits[np.arange(n), self.labels] += 1.8 + 0.15 * self.labels
            return logits
        parent = self.logits(node.parent)
        if node.op == "train.finetune":  # recovers part of the way back to the base
            pull = 0.7 * (1 - 0.5 ** node.params["epochs"])
            moved = parent + pull * (self.logits(node.root) - parent)
            return moved + rng.standard_normal(parent.shape, dtype=np.float32) * 0.03
        scale = noise_scale(node.op, node.params)
        logits = parent + rng.standard_normal(parent.shape, dtype=np.float32) * scale
        logits[np.arange(n), self.labels] -= scale * self.fragility[self.labels]
        return logits


# -- building the workspace -------------------------------------------------------------------
def synthetic_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """8×8 grey images: a per-class template plus noise (thumbnails look like something)."""
    labels = rng.integers(0, CLASSES, n)
    templates = rng.integers(0, 256, (CLASSES, 8, 8))
    noise = rng.integers(-60, 61, (n, 8, 8))
    return np.clip(templates[labels] + noise, 0, 255).astype(np.uint8), labels


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_workspace(folder: Path, models: int, instances: int) -> tuple[float | None, list[Node]]:
    """Build (or reuse) the workspace; return the build seconds (None when reused)."""
    spec = {"version": BUILD_VERSION, "models": models, "instances": instances, "seed": SEED}
    nodes = plan_tree(models)
    marker, building = folder / "bench-spec.json", folder / ".bench-building"
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        return None, nodes
    if folder.exists() and any(folder.iterdir()):
        if not (marker.is_file() or building.is_file()):
            sys.exit(f"{folder} exists and is not a benchmark workspace; choose another folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    building.touch()
    started = time.perf_counter()
    ws = cl.Workspace(folder)
    rng = np.random.default_rng(SEED)
    images, labels = synthetic_images(instances, rng)
    groups = np.array(["indoor", "outdoor", "studio"])[rng.integers(0, 3, instances)]
    dataset = ws.add_dataset(
        DATASET,
        images,
        labels,
        class_names=[f"class-{c}" for c in range(CLASSES)],
        attributes={"setting": groups},
        description="synthetic 8×8 images for the API benchmark",
    )
    label_tensor = torch.from_numpy(labels)
    attributes = {"setting": groups}
    logits = SyntheticLogits(nodes, labels)
    ids: list[str] = []
    for node in nodes:
        info = ws.log_model(
            node.name,
            parents=[ids[node.parent]] if node.parent is not None else [],
            operation={"name": node.op, "params": node.params, "seed": node.root},
            metrics=node.efficiency,
            tags=node.tags,
        )
        ids.append(info.id)
        outputs = instance_outputs(torch.from_numpy(logits.logits(node.index)), label_tensor)
        result = EvaluationResult(
            outputs=outputs,
            metrics=classification_metrics(outputs, CLASSES, attributes),
            logits=None,  # Workspace.evaluate's default keeps no logits
            features=None,
            features_module=None,
            wall_time_s=0.0,
        )
        with ws.store.write() as writer:  # exactly what Workspace.evaluate writes
            write_evaluation(writer, info.id, dataset.id, result)
        if (node.index + 1) % 100 == 0:
            elapsed = time.perf_counter() - started
            print(f"  built {node.index + 1:5,} / {models:,} models ({elapsed:.0f} s)", flush=True)
    ws.close()
    marker.write_text(json.dumps(spec))
    building.unlink()
    return time.perf_counter() - started, nodes


# -- timing over HTTP ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(folder: Path, gc_freeze: bool) -> Iterator[tuple[str, int]]:
    """A uvicorn server over the workspace in its own process; yields (base URL, pid)."""
    port = free_port()
    command = [sys.executable, "-c", SERVER, str(folder), str(port)]
    process = subprocess.Popen(
        command + (["freeze"] if gc_freeze else []), stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("the server did not start")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> bytes:
    """GET an answer's bytes (received, not parsed: parsing is the client's time), polling
    while the server says 202 (a long analysis still running)."""
    while True:
        response = client.get(path, params=params)
        if response.status_code != 202:
            response.raise_for_status()
            return response.content
        time.sleep(0.02)


@dataclass
class Timing:
    cold_ms: float
    samples_ms: list[float]
    cpu_ms: float
    payload_bytes: int = 0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.samples_ms, q))


def time_requests(request: Callable[[int], Any], pid: int, args: Any) -> Timing:
    """Cold first call, then --warmup untimed and --requests timed calls (i = call number).

    A slow endpoint gets fewer timed calls, so that it takes about --budget-s seconds (at
    least 5 calls; p95 is then close to the maximum).
    """
    started = time.perf_counter()
    request(0)
    cold = (time.perf_counter() - started) * 1000
    warm: list[float] = []
    while len(warm) < max(1, args.warmup) and sum(warm) < args.budget_s / 4:
        started = time.perf_counter()
        request(1 + len(warm))
        warm.append(time.perf_counter() - started)
    requests = max(5, min(args.requests, int(args.budget_s / max(min(warm), 1e-3))))
    samples = []
    cpu = cpu_seconds(pid)
    for i in range(requests):
        started = time.perf_counter()
        request(1 + len(warm) + i)
        samples.append((time.perf_counter() - started) * 1000)
    cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / requests
    return Timing(cold, samples, cpu_ms)


def plain_timing(work: Callable[[], Any], requests: int) -> float:
    """Median wall ms of an in-process baseline (after one warm-up)."""
    work()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def verdict(value: float, goal: float) -> str:
    return f"(goal < {goal:.0f} ms: {'met' if value < goal else 'NOT met'})"


def show(label: str, timing: Timing, goal: float | None = None) -> None:
    p95 = timing.pct(95)
    size = f"  {timing.payload_bytes / 1e6:.2f} MB" if timing.payload_bytes else ""
    print(
        f"{label:36s}: cold {timing.cold_ms:7.0f} ms  p50 {timing.pct(50):7.1f} ms  "
        f"p95 {p95:7.1f} ms  (n={len(timing.samples_ms)})  "
        f"server CPU {timing.cpu_ms:6.1f} ms/req{size}"
        + (f"  {verdict(p95, goal)}" if goal else "")
    )


# -- baselines in this process --------------------------------------------------------------
def plain_sql_models(db_file: Path) -> str:
    """The map's rows with plain sqlite3: one SELECT per table, grouped in Python."""
    with sqlite3.connect(db_file) as db:
        tables = {
            name: db.execute(f"SELECT * FROM {name}").fetchall()
            for name in ("models", "operations", "operation_parents", "metrics", "tags", "notes")
        }
    return json.dumps(tables)


def plain_behaviours(ws: cl.Workspace, base_id: str, model_ids: list[str], dataset: str) -> Any:
    """Per-class change ± bootstrap CI for 50 models with numpy: the floor for the endpoint."""

    def predictions(model_id: str) -> tuple[np.ndarray, np.ndarray]:
        row = ws.store.get_evaluation(model_id, dataset)
        path = ws.store.artifacts.path_of(row.outputs_artifact or "")
        table = pq.read_table(path, columns=["label", "prediction"])
        return table.column("label").to_numpy(), table.column("prediction").to_numpy()

    labels, base_pred = predictions(base_id)
    preds = np.stack([predictions(m)[1] for m in model_ids])
    return per_group_accuracy_change(labels, base_pred == labels, preds == labels, n_boot=N_BOOT)


# -- the benchmark -------------------------------------------------------------------------
def measure_map(client: httpx.Client, ws: cl.Workspace, folder: Path, pid: int, args: Any) -> None:
    models = time_requests(lambda _: get(client, "/api/models"), pid, args)
    answer = get(client, "/api/models")
    models.payload_bytes = len(answer)
    assert len(json.loads(answer)["models"]) == args.models, "the map lacks models"
    datasets = time_requests(lambda _: get(client, "/api/datasets"), pid, args)
    # Each baseline alternates with the HTTP request: the ratio is the median per-pair ratio.
    in_process = alternating(
        lambda: json.dumps({"models": [m.to_dict() for m in ws.models()]}),
        lambda: get(client, "/api/models"),
        args.requests,
    )
    plain_sql = alternating(
        lambda: plain_sql_models(folder / "compresslens.db"),
        lambda: get(client, "/api/models"),
        args.requests,
    )
    print("\n[map + scatter] (the front end loads /api/models and /api/datasets once)")
    show("GET /api/models", models, GOAL_MAP_MS)
    show("GET /api/datasets", datasets)
    print(
        f"{'  Python API, no HTTP':36s}: p50 {in_process.first.wall * 1000:7.1f} ms  "
        f"(HTTP ×{in_process.ratio:.2f}, alternating)"
    )
    print(
        f"{'  plain SQL + json.dumps':36s}: p50 {plain_sql.first.wall * 1000:7.1f} ms  "
        f"(HTTP ×{plain_sql.ratio:.1f}, alternating)"
    )


def route_exists(client: httpx.Client, path: str) -> bool:
    """False when the server has no such route (404 'Not Found'; a bare GET of a real one
    answers 422 for its missing parameters)."""
    response = client.get(path)
    return not (response.status_code == 404 and response.json().get("detail") == "Not Found")


def measure_behaviours(
    client: httpx.Client, ws: cl.Workspace, nodes: list[Node], pid: int, args: Any
) -> None:
    by_name = {m.name: m.id for m in ws.models()}
    dataset = ws.dataset(DATASET).id
    base = nodes[0]
    compared = [by_name[n.name] for n in nodes if n.root == base.index and n.parent is not None]
    compared = compared[:BEHAVIOUR_MODELS]
    base_id = by_name[base.name]
    print(
        f"\n[behaviours] base {base.name} vs {len(compared)} models, n_boot={N_BOOT}, "
        f"{args.instances:,} instances"
    )
    many = ",".join(compared)
    first = {"base": base_id, "model": compared[-1], "dataset": dataset}
    endpoints = {  # what the view requests: aggregates over the selection, then one model
        "/api/behaviours": {"base": base_id, "models": many, "dataset": dataset, "n_boot": N_BOOT},
        "/api/agreement": {"models": f"{base_id},{many}", "dataset": dataset},
        "/api/compare/calibration": {"base": base_id, "models": many, "dataset": dataset},
        "/api/compare/transitions": first,
        "/api/compare/instances": {**first, "flip": "changed", "sort": "true_prob_change"},
        "/api/compare": {**first, "n_boot": N_BOOT},
    }
    for path, params in endpoints.items():
        label = f"GET {path} ({'1' if 'model' in params else len(compared)})"
        if not route_exists(client, path):
            print(f"{label:36s}: not on this server yet (404)")
            continue
        timing = time_requests(lambda _, p=path, q=params: get(client, p, q), pid, args)
        show(label, timing, GOAL_BEHAVIOURS_MS if path == "/api/behaviours" else None)
    answer = json.loads(get(client, "/api/behaviours", endpoints["/api/behaviours"]))
    assert len(answer["models"]) == len(compared), "/api/behaviours lacks models"
    plain = plain_timing(lambda: plain_behaviours(ws, base_id, compared, dataset), 3)
    print(
        f"{'  plain numpy, no HTTP':36s}: p50 {plain:7.1f} ms  (per-class Δ ± bootstrap only; "
        "reads 2 Parquet columns × 51 files each time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="1,000 models × 100,000 instances")
    parser.add_argument("--models", type=int, default=None)
    parser.add_argument("--instances", type=int, default=None)
    parser.add_argument("--workspace", type=Path, default=Path("build/bench-api-workspace"))
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--views", default="map,behaviours", help="which to time")
    parser.add_argument("--budget-s", type=float, default=20.0, help="per endpoint, roughly")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() the server's startup heap (torch, FastAPI) before serving",
    )
    args = parser.parse_args()
    args.models = args.models or (1000 if args.full else 100)
    args.instances = args.instances or (100_000 if args.full else 10_000)
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    folder = args.workspace / f"{args.models}x{args.instances}"
    built, nodes = build_workspace(folder, args.models, args.instances)
    how = "reused" if built is None else f"built in {built:.0f} s"
    print(
        f"workspace {folder}: {args.models:,} models × {args.instances:,} instances, "
        f"{CLASSES} classes ({how}); {folder_size(folder) / 1e9:.2f} GB on disk"
    )
    ws = cl.Workspace(folder)
    gc.freeze()  # this process measures: its own full collections over torch are not the API's
    if args.gc_freeze:
        print("server: gc.freeze() before serving (full collections skip the startup heap)")
    with (
        serving(folder, args.gc_freeze) as (url, pid),
        httpx.Client(base_url=url, timeout=600) as client,
    ):
        if "map" in args.views:
            measure_map(client, ws, folder, pid, args)
        if "behaviours" in args.views:
            measure_behaviours(client, ws, nodes, pid, args)
    ws.close()


if __name__ == "__main__":
    main()
