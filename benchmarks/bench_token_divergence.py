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

Part 3 — accuracy on a tiny trained model: a word-bigram LM (embedding 64 → linear over the
--trained-vocab most frequent words of the Debian `fortunes` text, trained for a few hundred
Adam steps) against its own weights quantized group-wise to 8, 4 and 3 bits, on held-out
tokens; skipped when the fortunes are not installed.

torch runs on --threads threads (default 1: on shared cores two threads were several times
slower in wall time than one); wall time suffers when other processes share the cores, so
CPU time and the load are printed.

    python benchmarks/bench_token_divergence.py [--tokens 20000] [--vocab 8192] [--k 32]
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

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
FORTUNES = Path("/usr/share/games/fortunes")
KS = (8, 32, 128, 512)


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
        full = token_kld_full(base, model)  # also in report_errors: clarity over speed here
        same_top = float((base.argmax(1) == model.argmax(1)).mean())
        print(f"{name} noise σ={strength}: exact mean KLD {full.mean():.5f}, same top "
              f"{same_top:.2%}")  # fmt: skip
        report_errors(base, model)


def report_errors(base: np.ndarray, model: np.ndarray) -> None:
    """The compact KLD's shortfall against the exact one at each k."""
    full = token_kld_full(base, model)
    for k in KS:
        estimate = token_kld(compact_token_outputs(base, k), model)
        positive = full > 0
        per_token = ((full - estimate)[positive] / full[positive]).mean()
        of_mean = (full.mean() - estimate.mean()) / full.mean()
        print(f"  k={k:>3}: mean per-token relative error {per_token:.2%}, "
              f"relative error of the mean KLD {of_mean:.2%}")  # fmt: skip


def fortune_word_ids(vocab: int) -> np.ndarray | None:
    """The fortunes as ids of their `vocab` − 1 most frequent words (0 = any other)."""
    if not FORTUNES.is_dir():
        return None
    words: list[str] = []
    for path in sorted(FORTUNES.iterdir()):
        if path.is_file() and not path.suffix:
            words += re.findall(r"[a-z']+|[.,!?;:]", path.read_text(errors="ignore").lower())
    frequent = collections.Counter(words).most_common(vocab - 1)
    index = {word: i + 1 for i, (word, _) in enumerate(frequent)}
    return np.array([index.get(word, 0) for word in words], dtype=np.int64)


def quantized(weight: torch.Tensor, bits: int, group: int = 32) -> torch.Tensor:
    """Symmetric round-to-nearest per group of `group` weights (weight-only quantization)."""
    rows = weight.reshape(-1, group)
    scale = rows.abs().amax(dim=1, keepdim=True) / (2 ** (bits - 1) - 1)
    return (torch.round(rows / scale) * scale).reshape(weight.shape)


def trained_part(vocab: int, steps: int, tokens: int) -> None:
    ids = fortune_word_ids(vocab)
    if ids is None:
        print(f"== trained bigram LM: skipped ({FORTUNES} is not installed)")
        return
    torch.manual_seed(0)
    embed, head = torch.nn.Embedding(vocab, 64), torch.nn.Linear(64, vocab)
    optimizer = torch.optim.Adam([*embed.parameters(), *head.parameters()], lr=3e-3)
    inputs, targets = torch.from_numpy(ids[:-1]), torch.from_numpy(ids[1:])
    split = inputs.numel() - tokens
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = torch.randint(0, split, (2048,), generator=generator)
        loss = torch.nn.functional.cross_entropy(head(embed(inputs[batch])), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        held_out, truth = inputs[split:], targets[split:]
        base = head(embed(held_out))
        perplexity = torch.exp(torch.nn.functional.cross_entropy(base, truth)).item()
        top = torch.topk(torch.softmax(base, dim=1), 32, dim=1).values
        print(
            f"== trained bigram LM: {ids.size:,} fortune words, V={vocab:,}, {steps} steps; "
            f"held-out perplexity {perplexity:.0f} on {tokens:,} tokens, median top-1 p "
            f"{top[:, 0].median():.2f}, median top-32 mass {top.sum(1).median():.2f}"
        )
        for bits in (8, 4, 3):
            model = torch.nn.functional.linear(
                quantized(embed.weight, bits)[held_out], quantized(head.weight, bits), head.bias
            )
            same_top = float((base.argmax(1) == model.argmax(1)).float().mean())
            full = token_kld_full(base.numpy(), model.numpy())
            print(f"int{bits} group-wise weights: exact mean KLD {full.mean():.5f}, same top "
                  f"{same_top:.2%}")  # fmt: skip
            report_errors(base.numpy(), model.numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy-tokens", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--trained-vocab", type=int, default=4096)
    parser.add_argument("--trained-steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    time_part(args.tokens, args.vocab, args.k, args.repeats)
    accuracy_part(args.accuracy_tokens, args.vocab)
    trained_part(args.trained_vocab, args.trained_steps, args.accuracy_tokens)


if __name__ == "__main__":
    main()
