"""Compress and Compare's layer-norm case study, reproduced on the demo LM.

The paper: global magnitude pruning of T5-Large at 9% sparsity took SQuAD F1 from 90.5 to
4.0 because layer-norm weights were among the smallest and were pruned; restoring them gave
90.3 back. Here: the demo LM's held-out sliding-window perplexity after global magnitude
pruning at each sparsity of the Linear weights together with the RMSNorm gains ("norms
pruned"), of the Linear weights alone ("norms excluded"), and of the first with the norm
gains copied back from the base ("norms restored", a state-dict copy of the gains), with how
many norm gains each variant zeroed and the seconds each took (pruning + evaluation).

    HF_HUB_OFFLINE=1 PYTHONPATH=src python benchmarks/bench_lm_case_study.py \\
        [--folder DIR | --steps 400 [--norm-init G] [--out DIR]] [--json PATH]

--folder reuses a trained demo LM folder (build_demo_lm's); without it a demo LM is trained
first (--steps, --seed, --norm-init; kept in --out if given). The held-out split is the
demo's (every 20th fortunes entry).
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compresslens.data.corpora import read_fortunes, split_entries
from compresslens.demo_lm import DEMO_LM_STEPS, REPORT_FILE, DemoLMOptions, build_demo_lm
from compresslens.evaluate.perplexity import sliding_window_perplexity
from compresslens.models.causal_lm import norm_gains
from compresslens.ops.lm_training import token_stream
from compresslens.ops.registry import OperationContext, get_operation
from compresslens.threads import intra_op_threads

SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5)
WITH_NORMS = ["Linear", "LlamaRMSNorm"]
WITHOUT_NORMS = ["Linear"]
VARIANTS = ("norms pruned", "norms excluded", "norms restored")


@dataclass(frozen=True)
class CaseRow:
    sparsity: float
    variant: str
    perplexity: float
    norm_weights_pruned: int
    norm_weights: int
    weights_pruned: int  # Linear weights and norm gains that are zero
    seconds: float


def load_folder(folder: Path) -> tuple[nn.Module, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    return model, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def held_out_tokens(tokenizer: Any, options: DemoLMOptions) -> torch.Tensor:
    """The demo's held-out entries as one stream, exactly as build_demo_lm measures them."""
    split = split_entries(
        read_fortunes(options.corpus, options.collections), options.held_out_every
    )
    return token_stream(split.held_out, tokenizer)


def global_magnitude(model: nn.Module, amount: float, include_types: list[str]) -> nn.Module:
    """prune.magnitude, global scope, on a copy of `model` (as Workspace.compress runs it)."""
    operation = get_operation("prune.magnitude")
    params = operation.validate(
        {"amount": amount, "scope": "global", "include_types": include_types}
    )
    return operation.apply(copy.deepcopy(model), params, OperationContext(seed=0))


@torch.no_grad()
def restore_norms(model: nn.Module, base: nn.Module) -> nn.Module:
    """A copy of `model` with every norm gain copied back from `base` (state-dict copy)."""
    restored = copy.deepcopy(model)
    state = base.state_dict()
    gains = {f"{name}.weight" for name in norm_gains(base)}
    restored.load_state_dict({key: state[key] for key in gains}, strict=False)
    return restored


def zero_count(tensors: list[torch.Tensor]) -> int:
    return sum(int((tensor == 0).sum()) for tensor in tensors)


def linear_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def measure(
    model: nn.Module, tokens: torch.Tensor, window: int, stride: int, batch_size: int
) -> float:
    return sliding_window_perplexity(model, tokens, window, stride, batch_size).perplexity


def case_rows(
    base: nn.Module, tokens: torch.Tensor, sparsities: tuple[float, ...], window: int, stride: int
) -> tuple[float, list[CaseRow]]:
    """The base's perplexity and one row per sparsity × variant."""
    batch = 16
    base_perplexity = measure(base, tokens, window, stride, batch)
    norm_total = sum(g.numel() for g in norm_gains(base).values())
    rows: list[CaseRow] = []
    for amount in sparsities:
        built: dict[str, tuple[nn.Module, float]] = {}
        for variant in VARIANTS:
            started = time.perf_counter()
            if variant == "norms restored":
                model = restore_norms(built["norms pruned"][0], base)
            else:
                types = WITH_NORMS if variant == "norms pruned" else WITHOUT_NORMS
                model = global_magnitude(base, amount, types)
            built[variant] = (model, time.perf_counter() - started)
        for variant in VARIANTS:
            model, seconds = built[variant]
            started = time.perf_counter()
            perplexity = measure(model, tokens, window, stride, batch)
            gains = list(norm_gains(model).values())
            rows.append(
                CaseRow(
                    sparsity=amount,
                    variant=variant,
                    perplexity=perplexity,
                    norm_weights_pruned=zero_count(gains),
                    norm_weights=norm_total,
                    weights_pruned=zero_count(gains + linear_weights(model)),
                    seconds=seconds + time.perf_counter() - started,
                )
            )
            print(format_row(rows[-1]), flush=True)
    return base_perplexity, rows


def gain_summary(model: nn.Module) -> dict[str, Any]:
    """Where the norm gains sit among the weights global magnitude pruning ranks."""
    gains = {name: g.detach().abs() for name, g in norm_gains(model).items()}
    linear = torch.cat([w.detach().abs().reshape(-1) for w in linear_weights(model)])
    every = torch.cat([linear, *gains.values()])
    return {
        "norm_mean_abs": {name: round(float(g.mean()), 4) for name, g in gains.items()},
        "norm_min_abs": round(min(float(g.min()) for g in gains.values()), 5),
        "median_abs_all": round(float(every.median()), 5),
        "thresholds": {
            str(a): round(float(torch.quantile(every[:: max(1, every.numel() // 1_000_000)], a)), 5)
            for a in SPARSITIES
        },
    }


def format_row(row: CaseRow) -> str:
    return (
        f"{row.sparsity:>8.0%}  {row.variant:<15} {row.perplexity:>12.1f}  "
        f"{row.norm_weights_pruned:>5} / {row.norm_weights:<5} {row.weights_pruned:>10,}  "
        f"{row.seconds:>6.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=None, help="a trained demo LM folder")
    parser.add_argument("--steps", type=int, default=DEMO_LM_STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--norm-init", type=float, default=None, help="default: the demo's")
    parser.add_argument("--norm-lr-scale", type=float, default=None, help="default: the demo's")
    parser.add_argument("--out", type=Path, default=None, help="keep the trained folder here")
    parser.add_argument("--sparsities", type=float, nargs="+", default=list(SPARSITIES))
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--stride", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write the table here")
    args = parser.parse_args()
    options = DemoLMOptions(threads=args.threads)
    if args.norm_init is not None:
        options = replace(options, norm_init=args.norm_init)
    if args.norm_lr_scale is not None:
        options = replace(options, norm_lr_scale=args.norm_lr_scale)
    with tempfile.TemporaryDirectory(prefix="lm-case-") as scratch:
        folder = args.folder
        if folder is None:
            folder = args.out or Path(scratch) / "demo-lm"
            report = build_demo_lm(folder, args.steps, args.seed, options)
            print(f"trained {folder}: held-out block perplexity {report.held_out_perplexity:.1f}")
        training = json.loads((folder / REPORT_FILE).read_text())
        base, tokenizer = load_folder(folder)
        tokens = held_out_tokens(tokenizer, options)
        with intra_op_threads(args.threads):
            summary = gain_summary(base)
            print(json.dumps(summary, indent=2))
            print(
                f"{'sparsity':>8}  {'variant':<15} {'perplexity':>12}  norm gains zeroed  "
                f"{'zeroed':>10}  time"
            )
            base_perplexity, rows = case_rows(
                base, tokens, tuple(args.sparsities), args.window, args.stride
            )
    print(
        f"base: held-out sliding-window perplexity {base_perplexity:.1f} over "
        f"{len(tokens) - 1:,} tokens (window {args.window}, stride {args.stride}); "
        f"norm_init {training.get('norm_init', 1.0)}, norm_lr_scale "
        f"{training.get('norm_lr_scale', 1.0)}, {training['steps']} steps"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "folder": str(args.folder or "(trained, not kept)"),
                    "training": training,
                    "window": args.window,
                    "stride": args.stride,
                    "held_out_tokens": len(tokens) - 1,
                    "base_perplexity": base_perplexity,
                    "gains": summary,
                    "rows": [asdict(row) for row in rows],
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
