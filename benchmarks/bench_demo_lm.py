"""Train the real demo language model on Debian's fortunes and print what it reached.

Run: HF_HUB_OFFLINE=1 PYTHONPATH=src python benchmarks/bench_demo_lm.py [--steps N] [--out DIR]
Prints the parameter count, the token counts, the training and tokenizer time and the
held-out perplexity (token level, non-overlapping windows of the model's context).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from compresslens.demo_lm import DEMO_LM_STEPS, build_demo_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=DEMO_LM_STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the model folder here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="demo-lm-") as scratch:
        report = build_demo_lm(args.out or Path(scratch) / "demo-lm", args.steps, args.seed)
    print(json.dumps(asdict(report), indent=2))
    print(
        f"demo LM: {report.parameters:,} parameters, {report.steps} steps on "
        f"{report.threads} threads in {report.train_seconds:.0f} s "
        f"(tokenizer {report.tokenizer_seconds:.1f} s); training loss "
        f"{report.first_loss:.2f} -> {report.final_loss:.2f}; held-out perplexity "
        f"{report.held_out_perplexity:.1f} over {report.held_out_tokens:,} tokens"
    )


if __name__ == "__main__":
    main()
