"""Base-vs-many-models comparison and population statistics, timed against a pandas loop.

Part 1 — base vs M models over N instances and C classes (synthetic): agreement rate, flip
counts, per-class accuracy change with a paired bootstrap (--n-boot replicates) and KL(base ‖
model) on float16 logits kept for the first --logit-instances instances (M × that × C
float16; all N would take M·N·C·2 bytes). The same work as a straightforward per-model pandas
loop (groupby + groupby.sample for the bootstrap) runs for --pandas-models models and is
scaled linearly to M: the loop's cost is the same for every model.
Goals: compresslens < 2 s on 2 cores, ≥ 10× faster than the pandas loop.

Part 2 — populations: --seeds models × --levels compression levels (level 0 = baseline) over
N instances: per compressed level, PIE mask, PIE summary and per-class Welch tests.
Goal: < 1 s.

Wall time suffers when other processes share the cores, so CPU time is printed too.

    python benchmarks/bench_compare.py [--models 100] [--instances 100000] [--classes 100]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from compresslens.analysis.populations import (
    class_disparate_impact,
    pie_summary,
    pruning_identified_exemplars,
)
from compresslens.analysis.predictions import (
    agreement_rate,
    flip_counts,
    output_divergence,
    pairwise_agreement,
    per_group_accuracy_change,
)


def timed(work: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Best wall and CPU seconds over repeats (after one warm-up), and the last result."""
    result = work()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def synthetic_models(
    rng: np.random.Generator, models: int, instances: int, classes: int, logit_instances: int
) -> dict[str, np.ndarray]:
    """A base right on ~80% of instances; models that re-draw 5–15% of its predictions."""
    labels = rng.integers(0, classes, instances)
    base_pred = np.where(rng.random(instances) < 0.8, labels, rng.integers(0, classes, instances))
    rate = rng.uniform(0.05, 0.15, (models, 1))
    changed = rng.random((models, instances)) < rate
    preds = np.where(changed, rng.integers(0, classes, (models, instances)), base_pred)
    base_logits = rng.normal(size=(logit_instances, classes)).astype(np.float32)
    base_logits[np.arange(logit_instances), base_pred[:logit_instances]] += 4.0
    logits = np.empty((models, logit_instances, classes), dtype=np.float16)
    for m in range(models):  # data generation only, not timed
        noise = rng.normal(scale=0.5, size=base_logits.shape).astype(np.float32)
        logits[m] = base_logits + noise
    return {
        "labels": labels,
        "base_pred": base_pred,
        "preds": preds,
        "base_logits": base_logits.astype(np.float16),
        "logits": logits,
    }


def compresslens_compare(data: dict[str, np.ndarray], n_boot: int) -> dict[str, Any]:
    """Agreement, flips, per-class bootstrap and KL for all models at once."""
    labels, base_pred, preds = data["labels"], data["base_pred"], data["preds"]
    kl = output_divergence(
        data["base_logits"], data["logits"], labels[: data["base_logits"].shape[0]], ["kl"]
    )["kl"]
    return {
        "agreement": agreement_rate(base_pred, preds),
        "flips": flip_counts(labels, base_pred, preds),
        "per_class": per_group_accuracy_change(
            labels, base_pred == labels, preds == labels, n_boot=n_boot
        ),
        "mean_kl": kl.mean(axis=1),
    }


def pandas_compare(data: dict[str, np.ndarray], n_boot: int, models: int) -> list[dict]:
    """The same analyses, one model at a time, written the straightforward pandas way."""
    frame = pd.DataFrame({"label": data["labels"], "base": data["base_pred"]})
    frame["base_correct"] = frame["base"] == frame["label"]
    n_logit = data["base_logits"].shape[0]
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
                "mean_kl": kl.iloc[:n_logit].mean(),
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
    parser.add_argument("--logit-instances", type=int, default=10_000)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--pandas-models", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    data = synthetic_models(rng, args.models, args.instances, args.classes, args.logit_instances)
    wall, cpu, ours = timed(lambda: compresslens_compare(data, args.n_boot), args.repeats)
    pandas_models = min(args.pandas_models, args.models)
    pd_wall, pd_cpu, theirs = timed(
        lambda: pandas_compare(data, args.n_boot, pandas_models), repeats=1
    )
    scale = args.models / pandas_models
    excess = ours["per_class"]["excess"]
    losses, gains = int((excess == "loss").sum()), int((excess == "gain").sum())
    print(
        f"\n[compare] base vs {args.models} models, {args.instances:,} instances, "
        f"{args.classes} classes; per-class bootstrap n_boot={args.n_boot}; "
        f"KL on {args.logit_instances:,} instances (float16 logits)"
    )
    print(f"compresslens          : {wall:7.3f} s wall, {cpu:7.3f} s CPU  (goal < 2 s)")
    print(
        f"pandas per-model loop : {pd_wall * scale:7.1f} s wall, {pd_cpu * scale:7.1f} s CPU  "
        f"(measured on {pandas_models} models: {pd_wall:.2f} s, scaled ×{scale:g})"
    )
    print(f"speed-up (wall)       : {pd_wall * scale / wall:7.0f}×  (goal ≥ 10×)")
    pair_wall, pair_cpu, _ = timed(lambda: pairwise_agreement(data["preds"]), args.repeats)
    print(
        f"pairwise agreement    : {pair_wall:7.3f} s wall, {pair_cpu:7.3f} s CPU  "
        f"([{args.models}, {args.models}] over all instances; not in the total above)"
    )
    print(
        f"check: model 0 agreement {ours['agreement'][0]:.4f} vs pandas "
        f"{theirs[0]['agreement']:.4f}; mean KL {ours['mean_kl'][0]:.4f} vs "
        f"{theirs[0]['mean_kl']:.4f}; (model, class) cells that lost more / fared better "
        f"than the model overall: {losses} / {gains}"
    )

    labels, preds = synthetic_populations(
        rng, args.seeds, args.levels, args.instances, args.classes
    )
    wall, cpu, pops = timed(
        lambda: compresslens_populations(labels, preds, args.classes), args.repeats
    )
    print(
        f"\n[populations] {args.seeds} seeds × {args.levels} levels × {args.instances:,} "
        f"instances, {args.classes} classes: PIE + summary + Welch for {args.levels - 1} levels"
    )
    print(f"compresslens          : {wall:7.3f} s wall, {cpu:7.3f} s CPU  (goal < 1 s)")
    for level, result in enumerate(pops, start=1):
        print(
            f"  level {level}: {result['pie']['pie_count']:6,} PIEs, "
            f"{int(result['impact']['impacted'].sum()):3} classes impacted (p ≤ 0.05)"
        )


if __name__ == "__main__":
    main()
