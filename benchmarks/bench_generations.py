"""Greedy generations of the demo LM and of pruned children: time, and where they diverge.

Run: HF_HUB_OFFLINE=1 PYTHONPATH=src python benchmarks/bench_generations.py [--lm FOLDER]
     [--steps N] [--prompts 16] [--prompt-tokens 8] [--length 32]
Without --lm a demo LM is trained first (`build_demo_lm`, --steps). The held-out entries
become a token dataset as the token dataset contract lays it out; the base and three children
(global magnitude pruning at 30% and 50%, 50% per layer) generate from the same prompts.
Prints the seconds per model (first call; a second call reads the stored result) and the
divergence summary of each child against the base.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import compresslens as cl
from compresslens.data.corpora import read_fortunes, split_entries
from compresslens.demo_lm import add_demo_lm, build_demo_lm

CHILDREN = {
    "global-30": {"amount": 0.3, "scope": "global"},
    "global-50": {"amount": 0.5, "scope": "global"},
    "local-50": {"amount": 0.5, "scope": "local"},
}


def add_held_out_tokens(ws: cl.Workspace, folder: Path, name: str = "fortunes-held-out") -> str:
    """The held-out entries as one stream (eos before each entry), one instance per token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    entries = split_entries(read_fortunes()).held_out
    stream, entry, position = [tokenizer.eos_token_id], [], []
    for index, ids in enumerate(tokenizer(list(entries), add_special_tokens=False)["input_ids"]):
        stream += [*ids, tokenizer.eos_token_id]
        entry += [index] * (len(ids) + 1)
        position += list(range(len(ids) + 1))
    names = [tokenizer.decode([i]) for i in range(len(tokenizer))]
    ws.add_dataset(
        name,
        torch.tensor(stream[:-1]),
        torch.tensor(stream[1:]),
        class_names=names,
        attributes={"entry": np.array(entry), "position": np.array(position)},
        modality="tokens",
    )
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lm", type=Path, default=None, help="a demo LM folder already built")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--prompt-tokens", type=int, default=8)
    parser.add_argument("--length", type=int, default=32)
    args = parser.parse_args()
    options = {"prompts": args.prompts, "prompt_tokens": args.prompt_tokens, "length": args.length}
    with tempfile.TemporaryDirectory(prefix="bench-generations-") as scratch:
        folder = args.lm
        if folder is None:
            folder = Path(scratch) / "demo-lm"
            report = build_demo_lm(folder, steps=args.steps)
            print(f"demo LM: {args.steps} steps, perplexity {report.held_out_perplexity:.1f}")
        ws = cl.Workspace(Path(scratch) / "ws")
        base = add_demo_lm(ws, folder)
        data = add_held_out_tokens(ws, folder)
        print(f"{options}, 1 torch thread (the default)")
        model = base
        for name, params in {"base": None, **CHILDREN}.items():
            model = base if params is None else ws.compress(base, "prune.magnitude", **params)
            started = time.perf_counter()
            ws.generate(model, data, **options)
            first = time.perf_counter() - started
            started = time.perf_counter()
            ws.generate(model, data, **options)
            stored = time.perf_counter() - started
            line = f"{name:>16}: generate {first:.2f} s (stored: {stored * 1000:.0f} ms)"
            if params is not None:
                summary = ws.compare_generations(base, model, data, **options)["summary"]
                line += (
                    f"; identical {summary['identical']}/{summary['prompts']}, mean shared "
                    f"prefix {summary['mean_shared_prefix']:.1f}, mean first divergence "
                    f"{summary['mean_first_divergence'] or float('nan'):.1f}"
                )
            print(line, flush=True)
        sample = ws.compare_generations(base, model, data, **options)["prompts"][0]
        print(f"prompt {sample['prompt_text']!r}\n  base  {sample['base_text']!r}")
        print(f"  model {sample['model_text']!r} (first divergence {sample['first_divergence']})")


if __name__ == "__main__":
    main()
