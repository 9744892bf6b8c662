"""Evaluating the demo LM and compressed children on held-out tokens through the Workspace,
and the error of the stored compact KLD against a full-vocabulary KLD on the same tokens.

Part 1 — the product path: `ws.evaluate` of the root (sliding windows, per-token outputs,
compact top-32 outputs stored) and of each child (the same, plus the comparison with the
root in the same pass): wall time, tokens per second, perplexity, KLD, same-top rate, and
the bytes the root's compact outputs take against full float32 logits on disk.

Part 2 — the approximation: for each child, base and child logits over the same window plan,
the exact KL(base ‖ child) per token (`token_kld_full`) against the compact one from the
base's top-k (k = 8, 32, 128): relative error of the mean KLD, and the largest per-token gap.
The compact KLD is a lower bound, so every gap is ≥ 0.

The LM: --folder (a demo LM folder, e.g. from `make demo`), else one trained here for
--steps steps (a weaker model than the demo's; said so in the output). Held-out text: the
first --entries held-out fortunes entries (all: --entries 0).

    python benchmarks/bench_lm_evaluation.py [--folder DIR] [--entries 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from compresslens.analysis.token_divergence import (
    compact_token_outputs,
    token_kld,
    token_kld_full,
)
from compresslens.data.corpora import read_fortunes, split_entries
from compresslens.demo_lm import REPORT_FILE, add_demo_lm, build_demo_lm
from compresslens.evaluate.perplexity import sliding_window_logits
from compresslens.workspace import Workspace
from timing import load_line, once

CHILDREN = {
    "magnitude 30% local": ("prune.magnitude", {"amount": 0.3}),
    "magnitude 50% global": ("prune.magnitude", {"amount": 0.5, "scope": "global"}),
    "int4 weight-only g8": ("quantize.weight_only", {"bits": 4, "group_size": 8}),
}
KS = (8, 32, 128, 512)


def lm_folder(args: argparse.Namespace, scratch: Path) -> Path:
    if args.folder is not None:
        return Path(args.folder)
    folder = scratch / "demo-lm"
    print(f"no --folder: training a demo LM for {args.steps} steps here (weaker than make demo's)")
    build_demo_lm(folder, steps=args.steps)
    return folder


def approximation(ws: Workspace, child: str, dataset: str, window: int, stride: int) -> dict:
    """Full against compact KLD of `child` vs the root on the evaluation's window plan."""
    arrays = ws.load_dataset(dataset)
    stream = torch.cat([arrays.inputs[:1], arrays.labels])
    base, model = ws.load_model("lm-base"), ws.load_model(child)
    full, compact, covered = [], {k: [] for k in KS}, {k: [] for k in KS}
    for b, m in zip(
        sliding_window_logits(base, stream, window, stride),
        sliding_window_logits(model, stream, window, stride),
        strict=True,
    ):
        full.append(token_kld_full(b.logits, m.logits))
        for k in KS:
            outputs = compact_token_outputs(b.logits, k)
            compact[k].append(token_kld(outputs, m.logits))
            covered[k].append(1 - np.exp(outputs.log_rest.astype(np.float64)))
    exact = np.concatenate(full)
    rows = {}
    for k in KS:
        bound = np.concatenate(compact[k])
        rows[k] = {
            "mean_full": float(exact.mean()),
            "mean_compact": float(bound.mean()),
            "relative_error_of_mean": float((exact.mean() - bound.mean()) / exact.mean()),
            "max_token_gap": float((exact - bound).max()),
            "min_token_gap": float((exact - bound).min()),
            "top_k_mass": float(np.concatenate(covered[k]).mean()),
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(load_line())
    with tempfile.TemporaryDirectory() as scratch:
        folder = lm_folder(args, Path(scratch))
        report = json.loads((folder / REPORT_FILE).read_text())
        print(
            f"LM: {folder}, {report['parameters']} parameters, {report['steps']} steps, "
            f"held-out perplexity {report['held_out_perplexity']:.1f} (block)"
        )
        ws = Workspace(Path(scratch) / "ws")
        add_demo_lm(ws, folder)
        held_out = list(split_entries(read_fortunes()).held_out)
        entries = held_out[: args.entries] if args.entries else held_out
        dataset = ws.add_token_corpus("lm-held-out", entries, tokenizer=folder)
        tokens = dataset.num_instances
        print(
            f"held-out: {len(entries)} entries, {tokens} tokens, vocabulary {dataset.num_classes}"
        )
        wall, cpu, evaluation = once(lambda: ws.evaluate("lm-base", dataset, latency=False))
        plan = evaluation.metrics["token_outputs"]
        base = ws.model("lm-base").metrics[dataset.name]
        print(
            f"root: {wall:.1f} s wall, {cpu:.1f} s CPU, {tokens / wall:.0f} tokens/s; "
            f"perplexity {base['perplexity']:.2f} (window {plan['window']}, stride "
            f"{plan['stride']}); compact top-{plan['k']} outputs "
            f"{tokens * (plan['k'] * 8 + 16) / 2**20:.1f} MiB vs full float32 logits "
            f"{tokens * dataset.num_classes * 4 / 2**20:.1f} MiB"
        )
        for label, (operation, params) in CHILDREN.items():
            child = ws.compress("lm-base", operation, name=label.replace(" ", "-"), **params)
            wall, cpu, _ = once(lambda c=child: ws.evaluate(c, dataset, latency=False))
            m = ws.model(child).metrics[dataset.name]
            print(
                f"{label}: {wall:.1f} s wall ({tokens / wall:.0f} tokens/s, comparison "
                f"included); perplexity {m['perplexity']:.2f}, KLD mean {m['kld_mean']:.5f} "
                f"p99 {m['kld_p99']:.4f}, same top {100 * m['same_top']:.2f}%, "
                f"correct→incorrect {m['correct_to_incorrect']:.0f}, "
                f"incorrect→correct {m['incorrect_to_correct']:.0f}"
            )
            for k, row in approximation(
                ws, child.id, dataset.name, plan["window"], plan["stride"]
            ).items():
                error = 100 * row["relative_error_of_mean"]
                print(
                    f"  k={k:<4} base top-k mass {row['top_k_mass']:.3f}; mean KLD full "
                    f"{row['mean_full']:.6f} compact {row['mean_compact']:.6f} (relative error "
                    f"{error:.2f}%), per-token gap {row['min_token_gap']:.1e} … "
                    f"{row['max_token_gap']:.1e}"
                )
        ws.close()


if __name__ == "__main__":
    main()
