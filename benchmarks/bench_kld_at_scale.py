"""KLD at scale: the base's compact top-k outputs against llama.cpp's full logits on disk.

Both approaches compare 4 compressed children of the demo LM with their base over --tokens
token positions (default 1,000,000), window by window, and report wall time per phase,
bytes on disk, peak RSS and numpy's peak allocations (tracemalloc):

- compresslens: the base's compact top-k outputs (`compact_token_outputs`, k = 32) are
  encoded once from its streamed logits and stored; each child's logits are then streamed
  against them (`token_comparison`: KLD, same top, Δp, flips). No [T, V] is ever held.
- llama.cpp-style (`perplexity --kl-divergence-base`): the base's full logits are written
  to disk as float16 [T, V], then each child is compared against them, reading the file in
  chunks (full log-softmax KLD, same top, Δp — one pass, as llama.cpp does).

Each approach runs in its own process (so peak RSS, read as VmHWM, is its own; glibc's mmap
threshold is fixed there, see FIXED_MMAP_THRESHOLD), one after the other. Before
each pass over a stored file its pages are dropped from the page cache (posix_fadvise), so
reads come from the disk as they would for LLaMA-3's 11–37 GiB; `--cached` keeps them.

The forward pass is the same work in both approaches and dominates on CPU, so it is run
once per model on --distinct-tokens held-out tokens (then training text if more are asked
for), in disjoint windows of the model's context, timed, and its float32 logits cached;
both approaches then replay those logits cyclically to --tokens positions (the held-out
text repeated). Time spent replaying is measured and left out of each phase's figure. With
--distinct-tokens equal to --tokens every position has its own forward pass (slow on CPU).
KLD and same top of both approaches are checked against an exact float32 full-vocabulary
KLD on the distinct tokens; the compact KLD is a lower bound, so its gap is ≥ 0.

The LM: --folder (a demo LM folder), else one trained here for --steps steps. Scratch files
(~4 GiB at 1M tokens × V = 2048) go under --scratch and are deleted at the end.

    python benchmarks/bench_kld_at_scale.py [--tokens 1000000] [--distinct-tokens 16384]
        [--folder DIR] [--k 32] [--threads 1] [--scratch DIR] [--cached]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from compresslens.analysis.token_divergence import (
    CompactTokenOutputs,
    compact_token_outputs,
    token_comparison,
    token_kld_full,
)
from timing import load_line

CHILDREN = {
    "magnitude-30": ("prune.magnitude", {"amount": 0.3}),
    "nm-2-4": ("prune.nm", {"n": 2, "m": 4}),
    "int8-g8": ("quantize.weight_only", {"bits": 8, "group_size": 8}),
    "int4-g8": ("quantize.weight_only", {"bits": 4, "group_size": 8}),
}
BASE = "lm-base"
COMPACT_FIELDS = ("top_ids", "top_logprobs", "log_rest", "top1_margin", "targets")
MiB = 2**20
LLAMA3_VOCAB = 128_256
FIXED_MMAP_THRESHOLD = {"MALLOC_MMAP_THRESHOLD_": str(MiB)}
"""glibc's mmap threshold is dynamic by default: after a chunk's large temporaries are
freed, the next ones come from the heap, and each chunk's small long-lived results land in
their holes, so the heap only grows (measured at 1M tokens: 5.5 GiB RSS for the compact
approach, 19 GiB for the full one, with ~0.6 and ~0.2 GiB live). Fixed at 1 MiB in both
approaches' processes, RSS follows live memory; it costs page faults (system time)."""


# ---------------------------------------------------------------- measuring a phase


@dataclass
class Phase:
    """One phase of an approach: wall and CPU seconds, replay seconds, memory peaks."""

    name: str
    wall: float = 0.0
    cpu: float = 0.0
    replay: float = 0.0
    traced_peak: int = 0  # numpy/Python bytes allocated above the phase's start, at peak
    max_rss: int = 0  # the process's peak RSS during the phase, bytes
    start_rss: int = 0  # its RSS when the phase began, bytes


class Meter:
    """Times phases and records the memory peaks they reach."""

    def __init__(self) -> None:
        tracemalloc.start()
        self.baseline_rss = current_rss()
        self.phases: list[Phase] = []

    def run(self, name: str, work: Callable[[], Any], replay: ReplaySource | None = None) -> Any:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        reset_peak_rss()
        start_rss = current_rss()
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        phase = Phase(name, time.perf_counter() - wall, time.process_time() - cpu)
        phase.replay = replay.seconds if replay is not None else 0.0
        phase.traced_peak = tracemalloc.get_traced_memory()[1] - before
        phase.max_rss = peak_rss()
        phase.start_rss = start_rss
        self.phases.append(phase)
        return result


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS mark (VmHWM) from the current RSS.

    Not getrusage's ru_maxrss: after fork + exec it starts at the parent's RSS."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def peak_rss() -> int:
    """VmHWM: the highest RSS since the mark was last reset, bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def drop_cached(path: Path) -> None:
    """Evict a file's clean pages from the page cache, so the next read hits the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- replaying model logits


class ReplaySource:
    """A model's cached float32 logits [D, V], yielded cyclically as chunks up to T rows.

    Stands in for the model's forward pass, window by window; `seconds` is the time spent
    reading, so a phase's own work is its wall time minus it. Each chunk is a new array
    read with readinto (no memory map: its pages would count in the RSS)."""

    def __init__(self, path: Path, vocab: int, tokens: int, chunk_rows: int) -> None:
        self.path, self.vocab, self.tokens, self.chunk_rows = path, vocab, tokens, chunk_rows
        self.rows = path.stat().st_size // (4 * vocab)
        self.seconds = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        with open(self.path, "rb", buffering=0) as file:
            done = 0
            while done < self.tokens:
                start = time.perf_counter()
                rows = min(self.chunk_rows, self.tokens - done)
                chunk = np.empty((rows, self.vocab), dtype=np.float32)
                filled = 0
                while filled < rows:
                    at = (done + filled) % self.rows
                    take = min(rows - filled, self.rows - at)
                    file.seek(at * self.vocab * 4)
                    file.readinto(memoryview(chunk[filled : filled + take]).cast("B"))
                    filled += take
                done += rows
                self.seconds += time.perf_counter() - start
                yield chunk


# ---------------------------------------------------------------- the two approaches


def run_compact(scratch: Path, spec: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """compresslens: encode the base's compact top-k once, store it, stream each child."""
    folder = scratch / "compact"
    results: dict[str, Any] = encode_and_store(scratch, spec, meter, folder)
    for child in spec["children"]:
        source = replay(scratch, child, spec)

        def compare(source: ReplaySource = source) -> dict[str, Any]:
            base = load_compact(folder, spec["vocab"], spec["cached"])
            comparison = token_comparison(base, source)
            return {
                "kld": comparison.kld,
                "same_top": comparison.same_top,
                "delta_p_median": comparison.delta_p_stats()["p50"],
            }

        results[child] = meter.run(f"compare {child}", compare, source)
    return results


def encode_and_store(
    scratch: Path, spec: dict[str, Any], meter: Meter, folder: Path
) -> dict[str, Any]:
    """The base's phases; its compact outputs are let go on return, as after an evaluation."""
    targets = np.resize(np.load(scratch / "targets.npy"), spec["tokens"])
    source = replay(scratch, BASE, spec)
    compact = meter.run(
        "base: encode compact top-k",
        lambda: compact_token_outputs(source, spec["k"], targets),
        source,
    )
    stored = meter.run("base: store compact", lambda: store_compact(compact, folder))
    top_k_mass = float((-np.expm1(compact.log_rest.astype(np.float64))).mean())
    return {"disk_bytes": stored, "top_k_mass": top_k_mass}


def store_compact(compact: CompactTokenOutputs, folder: Path) -> int:
    """Each array as a .npy file, synced to the disk; the bytes they take."""
    folder.mkdir()
    for name, values in compact.arrays().items():
        with open(folder / f"{name}.npy", "wb") as file:
            np.save(file, values, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())
    return sum(path.stat().st_size for path in folder.iterdir())


def load_compact(folder: Path, vocab: int, cached: bool) -> CompactTokenOutputs:
    """The stored compact outputs, read whole (they are what every comparison needs)."""
    arrays = {}
    for name in (*COMPACT_FIELDS, "target_logprobs"):
        path = folder / f"{name}.npy"
        if not cached:
            drop_cached(path)
        arrays[name] = np.load(path, allow_pickle=False)
    return CompactTokenOutputs(vocab_size=vocab, **arrays)


def run_full(scratch: Path, spec: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """llama.cpp-style: write the base's float16 logits [T, V], read them per child."""
    tokens, vocab = spec["tokens"], spec["vocab"]
    targets = np.resize(np.load(scratch / "targets.npy"), tokens)
    path = scratch / "base-logits.f16"
    source = replay(scratch, BASE, spec)

    def write() -> int:
        with open(path, "wb") as file:
            for chunk in source:
                file.write(memoryview(chunk.astype(np.float16)).cast("B"))
            file.flush()
            os.fsync(file.fileno())
        return path.stat().st_size

    written = meter.run("base: write float16 logits", write, source)
    results: dict[str, Any] = {"disk_bytes": written}
    for child in spec["children"]:
        source = replay(scratch, child, spec)

        def compare(source: ReplaySource = source) -> dict[str, Any]:
            if not spec["cached"]:
                drop_cached(path)
            return full_comparison(path, vocab, source, targets)

        results[child] = meter.run(f"compare {child}", compare, source)
    path.unlink()
    return results


def full_comparison(
    path: Path, vocab: int, model_chunks: ReplaySource, targets: np.ndarray
) -> dict[str, Any]:
    """KL(base ‖ model), same top and Δp of the true token per token, from the full logits."""
    kld, same_top, delta_p, done = [], [], [], 0
    with open(path, "rb", buffering=0) as file:
        for chunk in model_chunks:
            rows = chunk.shape[0]
            stored = np.empty((rows, vocab), dtype=np.float16)
            file.readinto(memoryview(stored).cast("B"))
            log_p = torch.log_softmax(torch.from_numpy(stored).float(), dim=1)
            log_q = torch.log_softmax(torch.from_numpy(chunk), dim=1)
            terms = log_p.exp() * (log_p - log_q)
            kld.append(terms.sum(dim=1).clamp_min(0).double().numpy())
            same_top.append((log_p.argmax(dim=1) == log_q.argmax(dim=1)).numpy())
            target = torch.from_numpy(targets[done : done + rows])[:, None]
            change = log_q.gather(1, target).exp() - log_p.gather(1, target).exp()
            delta_p.append(change[:, 0].double().numpy())
            done += rows
    return {
        "kld": np.concatenate(kld),
        "same_top": np.concatenate(same_top),
        "delta_p_median": float(np.median(np.concatenate(delta_p))),
    }


def replay(scratch: Path, model: str, spec: dict[str, Any]) -> ReplaySource:
    return ReplaySource(
        scratch / f"replay-{model}.f32", spec["vocab"], spec["tokens"], spec["chunk_rows"]
    )


def approach_main(approach: str, scratch: Path) -> None:
    """The child process: run one approach, save per-token arrays, report phases as JSON."""
    spec = json.loads((scratch / "spec.json").read_text())
    torch.set_num_threads(spec["threads"])
    meter = Meter()
    run = run_compact if approach == "compact" else run_full
    results = run(scratch, spec, meter)
    report: dict[str, Any] = {
        "baseline_rss": meter.baseline_rss,
        "disk_bytes": results.pop("disk_bytes"),
        "top_k_mass": results.pop("top_k_mass", None),
        "phases": [vars(p) for p in meter.phases],
        "models": {},
    }
    for child, values in results.items():
        np.save(scratch / f"{approach}-{child}-kld.npy", values["kld"])
        np.save(scratch / f"{approach}-{child}-same.npy", values["same_top"])
        report["models"][child] = {"delta_p_median": values["delta_p_median"]}
    (scratch / f"{approach}.json").write_text(json.dumps(report))


# ---------------------------------------------------------------- preparing: LM, children, forward


def lm_folder(args: argparse.Namespace, scratch: Path) -> Path:
    if args.folder is not None:
        return Path(args.folder)
    from compresslens.demo_lm import build_demo_lm

    folder = scratch / "demo-lm"
    print(f"no --folder: training the demo LM here ({args.steps} steps)")
    build_demo_lm(folder, steps=args.steps)
    return folder


def distinct_stream(folder: Path, tokens: int, window: int) -> np.ndarray:
    """Held-out fortunes tokens, then training ones if more are needed: whole windows whose
    scored positions (window − 1 each, disjoint windows) cover `tokens`."""
    from transformers import AutoTokenizer

    from compresslens.data.corpora import read_fortunes, split_entries
    from compresslens.ops.lm_training import token_stream

    windows = -(-tokens // (window - 1))
    split = split_entries(read_fortunes())
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    stream = token_stream(split.held_out, tokenizer)
    if stream.numel() < windows * window:
        print("more distinct tokens than the held-out text: training text follows it")
        stream = torch.cat([stream, token_stream(split.train, tokenizer)])
    if stream.numel() < windows * window:
        raise SystemExit(f"the fortunes hold {stream.numel()} tokens, fewer than asked for")
    return stream[: windows * window].numpy()


def prepare(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Register the LM and its children, run each once over the distinct tokens, cache logits."""
    from compresslens.demo_lm import REPORT_FILE, add_demo_lm
    from compresslens.evaluate.perplexity import sliding_window_logits
    from compresslens.workspace import Workspace

    folder = lm_folder(args, scratch)
    report = json.loads((folder / REPORT_FILE).read_text())
    ws = Workspace(scratch / "ws")
    add_demo_lm(ws, folder)
    for name, (operation, params) in CHILDREN.items():
        ws.compress(BASE, operation, name=name, **params)
    base = ws.load_model(BASE)
    window = int(base.config.max_position_embeddings)
    vocab = int(base.config.vocab_size)
    stream = distinct_stream(folder, args.distinct_tokens, window)
    print(
        f"LM: {report['parameters']:,} parameters, V={vocab}, context {window}, "
        f"{report['steps']} steps, held-out perplexity {report['held_out_perplexity']:.1f}"
    )
    forward = {}
    for name in (BASE, *CHILDREN):
        model = base if name == BASE else ws.load_model(name)
        start, rows, targets = time.perf_counter(), 0, []
        with open(scratch / f"replay-{name}.f32", "wb") as file:
            for part in sliding_window_logits(model, stream, window, window, batch_size=32):
                file.write(memoryview(part.logits.numpy()).cast("B"))
                targets.append(part.targets)
                rows += part.logits.shape[0]
        forward[name] = rows / (time.perf_counter() - start)
        if name == BASE:
            np.save(scratch / "targets.npy", np.concatenate(targets))
    ws.close()
    print(
        f"forward passes on {rows:,} distinct tokens, tokens/s: "
        + ", ".join(f"{n} {v:,.0f}" for n, v in forward.items())
    )
    return {
        "tokens": args.tokens,
        "distinct": rows,
        "vocab": vocab,
        "k": args.k,
        "chunk_rows": args.chunk_rows,
        "threads": args.threads,
        "cached": args.cached,
        "children": list(CHILDREN),
        "forward_tokens_per_s": forward,
    }


def exact_kld(scratch: Path, spec: dict[str, Any], child: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact float32 KL(base ‖ child) and same top on the distinct tokens (the reference)."""
    shape = (spec["distinct"], spec["vocab"])
    base = np.memmap(scratch / f"replay-{BASE}.f32", dtype=np.float32, mode="r", shape=shape)
    model = np.memmap(scratch / f"replay-{child}.f32", dtype=np.float32, mode="r", shape=shape)
    rows = spec["chunk_rows"]
    spans = [slice(i, i + rows) for i in range(0, shape[0], rows)]
    kld = token_kld_full((np.array(base[s]) for s in spans), (np.array(model[s]) for s in spans))
    same = np.concatenate([base[s].argmax(1) == model[s].argmax(1) for s in spans])
    return kld, same


def float16_top_changes(scratch: Path, spec: dict[str, Any]) -> float:
    """Share of distinct tokens whose base top-1 differs once its logits are float16."""
    shape = (spec["distinct"], spec["vocab"])
    base = np.memmap(scratch / f"replay-{BASE}.f32", dtype=np.float32, mode="r", shape=shape)
    rows, changed = spec["chunk_rows"], 0
    for start in range(0, shape[0], rows):
        chunk = np.array(base[start : start + rows])
        changed += int((chunk.argmax(1) != chunk.astype(np.float16).argmax(1)).sum())
    return changed / shape[0]


# ---------------------------------------------------------------- the report


def report(scratch: Path, spec: dict[str, Any]) -> None:
    runs = {a: json.loads((scratch / f"{a}.json").read_text()) for a in ("compact", "full")}
    tokens, children = spec["tokens"], spec["children"]
    print(f"== phases ({tokens:,} tokens; replay time of model logits left out)")
    for approach, run in runs.items():
        print(f"{approach}: baseline RSS after imports {run['baseline_rss'] / MiB:.0f} MiB")
        for p in run["phases"]:
            print(
                f"  {p['name']:<28} {p['wall'] - p['replay']:7.1f} s wall "
                f"({p['cpu']:.1f} s CPU, replay {p['replay']:.1f} s); numpy peak "
                f"+{p['traced_peak'] / MiB:.0f} MiB, peak RSS {p['max_rss'] / MiB:.0f} MiB "
                f"(from {p['start_rss'] / MiB:.0f})"
            )
    print("== each child against the base: mean KLD (nats) and same top")
    print(
        f"{'model':<14} {'exact f32':>10} {'compact':>10} {'gap':>7} {'f16 file':>10} "
        f"{'f16 err':>8} {'same top':>9} {'cmp/f16':>8} {'agree':>7}"
    )
    repeats = tokens / spec["distinct"]
    for child in children:
        exact, exact_same = exact_kld(scratch, spec, child)
        exact_t = np.resize(exact, tokens)
        compact = np.load(scratch / f"compact-{child}-kld.npy")
        full = np.load(scratch / f"full-{child}-kld.npy")
        same_c = np.load(scratch / f"compact-{child}-same.npy")
        same_f = np.load(scratch / f"full-{child}-same.npy")
        gap = (exact_t.mean() - compact.mean()) / exact_t.mean()
        error = (full.mean() - exact_t.mean()) / exact_t.mean()
        print(
            f"{child:<14} {exact_t.mean():10.5f} {compact.mean():10.5f} {gap:7.2%} "
            f"{full.mean():10.5f} {error:+8.2%} {np.resize(exact_same, tokens).mean():9.2%} "
            f"{same_c.mean():8.2%}/{same_f.mean():.2%} {(same_c == same_f).mean():7.2%}"
        )
        below = (compact <= exact_t + 1e-6).mean()
        if below < 1:
            print(f"  compact above the exact KLD on {1 - below:.4%} of tokens (rounding)")
    print(
        f"base: mean top-{spec['k']} probability mass {runs['compact']['top_k_mass']:.3f}; "
        f"top-1 changed by float16 rounding on {float16_top_changes(scratch, spec):.2%} of tokens"
    )
    print(
        "gap = (exact − compact) / exact, the compact lower bound's shortfall; f16 err = the "
        "float16 file's error against exact float32; agree = tokens where both approaches "
        f"give the same same-top verdict. {repeats:.1f} repeats of {spec['distinct']:,} "
        "distinct tokens."
    )
    ratio_table(runs, spec)


def ratio_table(runs: dict[str, Any], spec: dict[str, Any]) -> None:
    def own(run: dict[str, Any], prefix: str) -> float:
        return sum(p["wall"] - p["replay"] for p in run["phases"] if p["name"].startswith(prefix))

    def peak(run: dict[str, Any], key: str) -> float:
        return max(p[key] for p in run["phases"])

    forward = spec["forward_tokens_per_s"]
    forward_s = sum(spec["tokens"] / v for v in forward.values())
    rows = [
        ("base phase, s", own(runs["compact"], "base"), own(runs["full"], "base")),
        ("4 comparisons, s", own(runs["compact"], "compare"), own(runs["full"], "compare")),
        ("bytes on disk, MiB", *(run["disk_bytes"] / MiB for run in runs.values())),
        ("peak RSS, MiB", *(peak(run, "max_rss") / MiB for run in runs.values())),
        (
            "  above imports, MiB",
            (peak(runs["compact"], "max_rss") - runs["compact"]["baseline_rss"]) / MiB,
            (peak(runs["full"], "max_rss") - runs["full"]["baseline_rss"]) / MiB,
        ),
        (
            "numpy peak, MiB",
            peak(runs["compact"], "traced_peak") / MiB,
            peak(runs["full"], "traced_peak") / MiB,
        ),
    ]  # fmt: skip
    print(
        f"== ratio table ({spec['tokens']:,} tokens × 5 models, V={spec['vocab']}, k={spec['k']})"
    )
    print(f"{'':<22} {'compresslens':>13} {'llama.cpp-style':>16} {'llama/cl':>9}")
    for label, ours, theirs in rows:
        print(f"{label:<22} {ours:13.1f} {theirs:16.1f} {theirs / ours:9.2f}")
    print(
        f"forward passes (both approaches alike): {forward_s:.0f} s for 5 models × "
        f"{spec['tokens']:,} tokens at the measured tokens/s"
    )
    per_token = runs["compact"]["disk_bytes"] / spec["tokens"]
    print(
        f"arithmetic, not measured: at LLaMA-3's V = {LLAMA3_VOCAB:,} the float16 file would "
        f"take {spec['tokens'] * LLAMA3_VOCAB * 2 / 2**30:.0f} GiB for these tokens; the "
        f"compact base stays {per_token:.0f} bytes per token "
        f"({runs['compact']['disk_bytes'] / MiB:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--distinct-tokens", type=int, default=16_384)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--chunk-rows", type=int, default=2048)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--steps", type=int, default=400, help="steps of the LM trained here")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scratch", default=None, help="folder for the scratch files")
    parser.add_argument("--cached", action="store_true", help="leave files in the page cache")
    parser.add_argument("--run-approach", choices=("compact", "full"), help=argparse.SUPPRESS)
    parser.add_argument("--in", dest="scratch_in", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_approach:
        approach_main(args.run_approach, Path(args.scratch_in))
        return
    torch.set_num_threads(args.threads)
    print(load_line())
    scratch = Path(tempfile.mkdtemp(prefix="kld-at-scale-", dir=args.scratch))
    try:
        start = time.perf_counter()
        spec = prepare(args, scratch)
        (scratch / "spec.json").write_text(json.dumps(spec))
        for approach in ("compact", "full"):
            subprocess.run(
                [sys.executable, __file__, "--run-approach", approach, "--in", str(scratch)],
                check=True,
                env={**os.environ, **FIXED_MMAP_THRESHOLD},
            )
        report(scratch, spec)
        print(f"total {time.perf_counter() - start:.0f} s ({load_line()})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
