"""Base-vs-many-models comparison and population statistics, timed against plain numpy and a
pandas loop.

Part 1 — the headline: base vs M models over N instances and C classes (synthetic): agreement
rate, flip counts, per-class accuracy change with a paired bootstrap (--n-boot replicates)
and KL(base ‖ model) on EVERY instance, from float16 logits (M × N × C × 2 bytes: 2 GB at the
defaults). compresslens (`behaviour_batch` + `output_divergence`) and a tight hand-written
numpy pass of the same work (float32, blocked; the per-class bootstrap is the library's, which
is numpy) run alternating in one process: medians of each and the median per-pair ratio.
A straightforward per-model pandas loop (groupby + groupby.sample for the bootstrap) runs once
on --pandas-models models and is scaled linearly to M: its cost is the same for every model.
Goals: compresslens < 1.5 s on 2 cores, faster than the numpy pass, ≥ 10× the pandas loop.

Part 2 — populations: --seeds models × --levels compression levels (level 0 = baseline) over
N instances: per compressed level, PIE mask, PIE summary and per-class Welch tests.
Goal: < 1 s.

Wall time suffers when other processes share the cores, so CPU time and the load are printed.

    python benchmarks/bench_compare.py [--models 100] [--instances 100000] [--classes 100]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from compresslens.analysis.behaviour_batch import behaviour_batch
from compresslens.analysis.divergence import output_divergence
from compresslens.analysis.populations import (
    class_disparate_impact,
    pie_summary,
    pruning_identified_exemplars,
)
from compresslens.analysis.predictions import pairwise_agreement, per_group_accuracy_change
from timing import alternating, load_line, median_timed, once

NUMPY_BLOCK_ROWS = 2048
"""Instances per block of the numpy KL pass (800 KiB of float32 at 100 classes)."""


def synthetic_models(
    rng: np.random.Generator, models: int, instances: int, classes: int
) -> dict[str, np.ndarray]:
    """A base right on ~80% of instances; models that re-draw 5–15% of its predictions, and
    float16 logits for every model and instance (the base's plus noise)."""
    labels = rng.integers(0, classes, instances)
    base_pred = np.where(rng.random(instances) < 0.8, labels, rng.integers(0, classes, instances))
    rate = rng.uniform(0.05, 0.15, (models, 1))
    changed = rng.random((models, instances)) < rate
    preds = np.where(changed, rng.integers(0, classes, (models, instances)), base_pred)
    base_logits = rng.standard_normal((instances, classes), dtype=np.float32)
    base_logits[np.arange(instances), base_pred] += 4.0
    logits = np.empty((models, instances, classes), dtype=np.float16)
    noise = np.empty_like(base_logits)
    for m in range(models):  # data generation only, not timed
        rng.standard_normal(out=noise, dtype=np.float32)
        noise *= 0.5
        noise += base_logits
        logits[m] = noise
    return {
        "labels": labels,
        "base_pred": base_pred,
        "preds": preds,
        "base_logits": base_logits.astype(np.float16),
        "logits": logits,
    }


def compresslens_compare(data: dict[str, np.ndarray], n_boot: int) -> dict[str, Any]:
    """Agreement, flips, per-class bootstrap and KL on every instance, for all models at once."""
    labels, classes = data["labels"], data["logits"].shape[2]
    batch = behaviour_batch(labels, data["base_pred"], data["preds"], classes, n_boot=n_boot)
    kl = output_divergence(data["base_logits"], data["logits"], labels, ["kl"])["kl"]
    return {
        "agreement": batch["agreement"],
        "flips": batch["flips"],
        "per_class": batch["per_class"],
        "mean_kl": kl.mean(axis=1, dtype=np.float64),
    }


def numpy_compare(data: dict[str, np.ndarray], n_boot: int) -> dict[str, Any]:
    """The same work as a tight hand-written numpy pass: masks for agreement and flips, the
    library's (numpy) bootstrap, and KL in float32 blocks, the base's softmax once per block."""
    labels, base_pred, preds = data["labels"], data["base_pred"], data["preds"]
    base_correct, correct = base_pred == labels, preds == labels
    flips = {
        "correct_to_incorrect": np.count_nonzero(base_correct & ~correct, axis=1),
        "incorrect_to_correct": np.count_nonzero(~base_correct & correct, axis=1),
        "incorrect_to_other_incorrect": np.count_nonzero(
            ~base_correct & ~correct & (preds != base_pred), axis=1
        ),
    }
    return {
        "agreement": np.count_nonzero(preds == base_pred, axis=1) / labels.size,
        "flips": flips,
        "per_class": per_group_accuracy_change(labels, base_correct, correct, n_boot=n_boot),
        "mean_kl": numpy_kl(data["base_logits"], data["logits"]).mean(axis=1, dtype=np.float64),
    }


def numpy_kl(base_logits: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """KL(base ‖ model) [M, N] in float32: per block, log-softmax of the base once, then per
    model max, exp, sum, log and one dot product per row (in place where numpy allows)."""
    models, instances, _ = logits.shape
    out = np.empty((models, instances), dtype=np.float32)
    for start in range(0, instances, NUMPY_BLOCK_ROWS):
        rows = slice(start, start + NUMPY_BLOCK_ROWS)
        base = base_logits[rows].astype(np.float32)
        base -= base.max(axis=1, keepdims=True)
        prob = np.exp(base)
        total = prob.sum(axis=1, keepdims=True)
        prob /= total
        neg_entropy = np.vecdot(prob, base) - np.log(total[:, 0])
        for m in range(models):
            z = logits[m, rows].astype(np.float32)
            z -= z.max(axis=1, keepdims=True)
            log_total = np.log(np.exp(z).sum(axis=1))
            out[m, rows] = neg_entropy - (np.vecdot(prob, z) - log_total)
    return np.maximum(out, 0.0)


def pandas_compare(data: dict[str, np.ndarray], n_boot: int, models: int) -> list[dict]:
    """The same analyses, one model at a time, written the straightforward pandas way."""
    frame = pd.DataFrame({"label": data["labels"], "base": data["base_pred"]})
    frame["base_correct"] = frame["base"] == frame["label"]
    base_logp = _pandas_log_softmax(pd.DataFrame(data["base_logits"].astype(np.float32)))
    base_p = np.exp(base_logp)
    results = []
    for m in range(models):
        df = frame.assign(pred=data["preds"][m])
        df["correct"] = df["pred"] == df["label"]
        df["diff"] = df["correct"].astype(int) - df["base_correct"].astype(int)
        per_class = df.groupby("label")[["base_correct", "correct", "diff"]].mean()
        overall = df["diff"].mean()
        deltas, excess = [], []
        for b in range(n_boot):
            sample = (
                df[["label", "diff"]]
                .groupby("label")
                .sample(frac=1.0, replace=True, random_state=b)
            )
            delta = sample.groupby("label")["diff"].mean()
            deltas.append(delta.to_numpy())
            excess.append(delta.to_numpy() - sample["diff"].mean())
        deltas_arr, excess_arr = np.array(deltas), np.array(excess)
        below, above = (excess_arr <= 0).mean(axis=0), (excess_arr >= 0).mean(axis=0)
        model_logp = _pandas_log_softmax(pd.DataFrame(data["logits"][m].astype(np.float32)))
        kl = (base_p * (base_logp - model_logp)).sum(axis=1)
        results.append(
            {
                "agreement": (df["pred"] == df["base"]).mean(),
                "correct_to_incorrect": (df["base_correct"] & ~df["correct"]).sum(),
                "incorrect_to_correct": (~df["base_correct"] & df["correct"]).sum(),
                "incorrect_to_other_incorrect": (
                    ~df["base_correct"] & ~df["correct"] & (df["pred"] != df["base"])
                ).sum(),
                "delta": per_class["diff"],
                "ci": np.quantile(deltas_arr, [0.025, 0.975], axis=0),
                "p_value": np.minimum(1.0, 2.0 * np.minimum(below, above)),
                "overall": overall,
                "mean_kl": kl.mean(),
            }
        )
    return results


def _pandas_log_softmax(frame: pd.DataFrame) -> pd.DataFrame:
    """Row-wise log-softmax of a DataFrame of logits."""
    shifted = frame.sub(frame.max(axis=1), axis=0)
    return shifted.sub(np.log(np.exp(shifted).sum(axis=1)), axis=0)


def synthetic_populations(
    rng: np.random.Generator, seeds: int, levels: int, instances: int, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions [levels, seeds, N]: each level re-draws more, hitting 10 classes harder."""
    labels = rng.integers(0, classes, instances)
    fragile = np.zeros(classes)
    fragile[:10] = 1.0
    preds = np.empty((levels, seeds, instances), dtype=np.int64)
    for level in range(levels):  # data generation only, not timed
        rate = 0.15 + 0.04 * level * (1.0 + 2.0 * fragile[labels])
        wrong = rng.random((seeds, instances)) < rate
        preds[level] = np.where(wrong, rng.integers(0, classes, (seeds, instances)), labels)
    return labels, preds


def compresslens_populations(labels: np.ndarray, preds: np.ndarray, classes: int) -> list[dict]:
    """PIE, PIE summary and class-level Welch tests of every compressed level vs level 0."""
    results = []
    for level in range(1, preds.shape[0]):
        pie = pruning_identified_exemplars(preds[0], preds[level], classes)
        results.append(
            {
                "pie": pie_summary(labels, preds[0], preds[level], pie),
                "impact": class_disparate_impact(labels, preds[0], preds[level], classes),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--pandas-models", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(load_line())

    data = synthetic_models(rng, args.models, args.instances, args.classes)
    pair = alternating(
        lambda: compresslens_compare(data, args.n_boot),
        lambda: numpy_compare(data, args.n_boot),
        args.repeats,
    )
    ours, plain = pair.results
    kl_pair = alternating(
        lambda: output_divergence(data["base_logits"], data["logits"], data["labels"], ["kl"]),
        lambda: numpy_kl(data["base_logits"], data["logits"]),
        args.repeats,
        warm_up=False,
    )
    batch, _ = median_timed(
        lambda: behaviour_batch(
            data["labels"], data["base_pred"], data["preds"], args.classes, n_boot=args.n_boot
        ),
        args.repeats,
    )
    pandas_models = min(args.pandas_models, args.models)
    pd_wall, pd_cpu, theirs = once(lambda: pandas_compare(data, args.n_boot, pandas_models))
    scale = args.models / pandas_models
    excess = ours["per_class"]["excess"]
    losses, gains = int((excess == "loss").sum()), int((excess == "gain").sum())
    print(
        f"\n[compare] base vs {args.models} models, {args.instances:,} instances, "
        f"{args.classes} classes; per-class bootstrap n_boot={args.n_boot}; KL on every "
        f"instance (float16 logits); medians of {args.repeats}, run alternating"
    )
    print(
        f"compresslens          : {pair.first.wall:7.3f} s wall, {pair.first.cpu:7.3f} s CPU"
        f"  ({pair.first.spread()}; goal < 1.5 s)"
    )
    print(
        f"plain numpy pass      : {pair.second.wall:7.3f} s wall, {pair.second.cpu:7.3f} s CPU"
        f"  ({pair.second.spread()})"
    )
    print(f"numpy / compresslens  : {pair.ratio:7.2f}×  (median per-pair ratio; goal > 1)")
    print(
        f"  of which KL         : {kl_pair.first.wall:7.3f} s vs numpy {kl_pair.second.wall:.3f} s"
        f" = {kl_pair.ratio:.2f}× (median per-pair ratio)"
    )
    print(
        f"  of which the rest   : {batch.wall:7.3f} s wall, {batch.cpu:.3f} s CPU "
        "(behaviour_batch: agreement, flips, per-class bootstrap; numpy, one thread)"
    )
    print(
        f"pandas per-model loop : {pd_wall * scale:7.1f} s wall, {pd_cpu * scale:7.1f} s CPU  "
        f"(measured once on {pandas_models} models: {pd_wall:.2f} s, scaled ×{scale:g})"
    )
    print(f"speed-up over pandas  : {pd_wall * scale / pair.first.wall:7.0f}×  (goal ≥ 10×)")
    pairwise, _ = median_timed(lambda: pairwise_agreement(data["preds"]), args.repeats)
    print(
        f"pairwise agreement    : {pairwise.wall:7.3f} s wall, {pairwise.cpu:7.3f} s CPU  "
        f"([{args.models}, {args.models}] over all instances; not in the total above)"
    )
    kl_gap = np.abs(ours["mean_kl"] - plain["mean_kl"]).max()
    print(
        f"check: model 0 agreement {ours['agreement'][0]:.4f} vs numpy "
        f"{plain['agreement'][0]:.4f} vs pandas {theirs[0]['agreement']:.4f}; mean KL "
        f"{ours['mean_kl'][0]:.5f} vs pandas {theirs[0]['mean_kl']:.5f} (largest gap to "
        f"numpy over models {kl_gap:.1e}); (model, class) cells that lost more / fared "
        f"better than the model overall: {losses} / {gains}"
    )

    labels, preds = synthetic_populations(
        rng, args.seeds, args.levels, args.instances, args.classes
    )
    populations, pops = median_timed(
        lambda: compresslens_populations(labels, preds, args.classes), args.repeats
    )
    print(
        f"\n[populations] {args.seeds} seeds × {args.levels} levels × {args.instances:,} "
        f"instances, {args.classes} classes: PIE + summary + Welch for {args.levels - 1} levels"
    )
    print(
        f"compresslens          : {populations.wall:7.3f} s wall, {populations.cpu:7.3f} s CPU"
        f"  ({populations.spread()}; goal < 1 s)"
    )
    for level, result in enumerate(pops, start=1):
        print(
            f"  level {level}: {result['pie']['pie_count']:6,} PIEs, "
            f"{int(result['impact']['impacted'].sum()):3} classes impacted (p ≤ 0.05)"
        )
    print(load_line())


if __name__ == "__main__":
    main()
