"""Token-level comparison from the base's compact outputs against a full-softmax KLD.

Part 1 — time: the base's compact encoding (top-k log-probs + remainder, once per text) and
one model's full comparison (`token_comparison`: KLD, same-top, Δp, perplexities, flips by
margin) for T tokens × V vocabulary × k, against the library's exact chunked full KLD
(`token_kld_full`) and a plain one-shot torch full-softmax KLD, run alternating; plus the
bytes the base takes on disk each way (llama.cpp keeps the full logits).

Part 2 — accuracy: on peaked synthetic logits (Zipf-like: p ∝ E^-a with E exponential, so
the r-th largest probability falls roughly as r^-a, as a trained LM's) and a model perturbed
by Gaussian logit noise of three strengths (mild, medium, strong compression), the compact
KLD's error against the exact one at k = 8/32/128/512: mean per-token relative error and the
relative error of the mean KLD. The compact KLD is a lower bound, so errors are ≥ 0.

torch runs on --threads threads (default 1: on shared cores two threads were several times
slower in wall time than one); wall time suffers when other processes share the cores, so
CPU time and the load are printed.

    python benchmarks/bench_token_divergence.py [--tokens 20000] [--vocab 8192] [--k 32]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from compresslens.analysis.token_divergence import (
    compact_token_outputs,
    token_comparison,
    token_kld,
    token_kld_full,
)
from timing import alternating, load_line, once

NOISE = {"mild": 0.1, "medium": 0.5, "strong": 1.5}


def peaked_logits(tokens: int, vocab: int, sharpness: float, seed: int) -> np.ndarray:
    """Zipf-like next-token logits, float32: −a·log E with E ~ Exponential(1) per token."""
    generator = torch.Generator().manual_seed(seed)
    uniform = torch.rand(tokens, vocab, generator=generator).clamp_min_(1e-12)
    return (sharpness * torch.log(-torch.log(uniform))).neg_().numpy()


def perturbed(base: np.ndarray, strength: float, seed: int) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(base.shape, generator=generator).mul_(strength)
    return noise.add_(torch.from_numpy(base)).numpy()


def plain_full_kld(base: np.ndarray, model: np.ndarray) -> np.ndarray:
    """The straightforward way: full softmaxes over the whole [T, V] at once."""
    log_p = torch.log_softmax(torch.from_numpy(base), dim=1)
    log_q = torch.log_softmax(torch.from_numpy(model), dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1).numpy()


def time_part(tokens: int, vocab: int, k: int, repeats: int) -> None:
    base = peaked_logits(tokens, vocab, 1.5, seed=0)
    model = perturbed(base, NOISE["medium"], seed=1)
    targets = np.random.default_rng(2).integers(0, vocab, tokens)
    print(f"== time: T={tokens:,} tokens × V={vocab:,}, k={k} ({load_line()})")
    wall, cpu, compact = once(lambda: compact_token_outputs(base, k, targets))
    print(f"compact encoding of the base (once per text): {wall:.2f} s wall, {cpu:.2f} s CPU")
    pair = alternating(
        lambda: token_comparison(compact, model, targets), lambda: token_kld_full(base, model),
        repeats,
    )  # fmt: skip
    plain = alternating(lambda: token_kld_full(base, model), lambda: plain_full_kld(base, model),
                        repeats)  # fmt: skip
    for label, timing in (
        ("token_comparison, per model", pair.first),
        ("token_kld_full (chunked, exact)", pair.second),
        ("plain one-shot full-softmax KLD", plain.second),
    ):
        print(f"{label}: {timing.wall:.2f} s wall, {timing.cpu:.2f} s CPU ({timing.spread()})")
    print(f"ratio full KLD / comparison: {pair.ratio:.2f}; "
          f"plain / chunked full: {plain.ratio:.2f}")  # fmt: skip
    stored = sum(a.nbytes for a in compact.arrays().values())
    print(f"base on disk: compact {stored / 2**20:.1f} MiB vs full float32 logits "
          f"{base.nbytes / 2**20:.0f} MiB (float16: {base.nbytes / 2**21:.0f} MiB), "
          f"{base.nbytes / stored:.0f}× smaller")  # fmt: skip


def accuracy_part(tokens: int, vocab: int) -> None:
    base = peaked_logits(tokens, vocab, 1.5, seed=3)
    p = torch.softmax(torch.from_numpy(base), dim=1)
    top = torch.topk(p, 32, dim=1).values
    print(f"== accuracy: T={tokens:,} × V={vocab:,}, peaked logits: median top-1 p "
          f"{top[:, 0].median():.2f}, median top-32 mass {top.sum(1).median():.2f}")  # fmt: skip
    for name, strength in NOISE.items():
        model = perturbed(base, strength, seed=4)
        full = token_kld_full(base, model)
        same_top = float((base.argmax(1) == model.argmax(1)).mean())
        print(f"{name} noise σ={strength}: exact mean KLD {full.mean():.5f}, same top "
              f"{same_top:.2%}")  # fmt: skip
        for k in (8, 32, 128, 512):
            estimate = token_kld(compact_token_outputs(base, k), model)
            positive = full > 0
            per_token = ((full - estimate)[positive] / full[positive]).mean()
            of_mean = (full.mean() - estimate.mean()) / full.mean()
            print(f"  k={k:>3}: mean per-token relative error {per_token:.2%}, "
                  f"relative error of the mean KLD {of_mean:.2%}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy-tokens", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    time_part(args.tokens, args.vocab, args.k, args.repeats)
    accuracy_part(args.accuracy_tokens, args.vocab)


if __name__ == "__main__":
    main()
