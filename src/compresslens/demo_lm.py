"""The demo language model: a small Llama-style LM trained here on Debian's fortunes.

Nothing pretrained can be downloaded, so the project makes its own: a byte-level BPE
tokenizer and a causal LM trained on the training split of the fortunes entries, saved
with save_pretrained (safetensors) and the tokenizer into one folder that
AutoModelForCausalLM / AutoTokenizer / `Workspace.add_hf_model(task="causal-lm")` load.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compresslens.data.corpora import FORTUNES_DIR, HELD_OUT_EVERY, read_fortunes, split_entries
from compresslens.data.tokenizer_training import save_tokenizer, train_byte_bpe
from compresslens.models.causal_lm import CausalLMShape, build_causal_lm, llama_config
from compresslens.ops.lm_training import (
    LMTrainParams,
    StepCallback,
    block_perplexity,
    check_token_stream,
    token_stream,
    train_causal_lm,
)
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.threads import intra_op_threads
from compresslens.workspace import Workspace

DEMO_LM_NAME = "lm-base"
DEMO_LM_STEPS = 400
REPORT_FILE = "compresslens_training.json"  # next to config.json: how the folder was made


@dataclass(frozen=True)
class DemoLMOptions:
    """How the demo LM is made.

    Why norm gains start at 0.02 (the Linear weights' init std) rather than transformers'
    1.0: trained from 1.0 they stay near 1 (mean |w| 0.88-1.11, 50x the median weight), so
    global magnitude pruning never reaches them and the layer-norm case study cannot happen;
    from 0.02 they end in the Linear weights' range (mean |w| 0.009-0.05, final norm 0.45),
    as T5's are, and 400 steps reach a better held-out perplexity (126 instead of 164).
    `norm_lr_scale` < 1 keeps them smaller still (benchmarks/bench_lm_case_study.py).
    """

    vocab_size: int = 2048
    shape: CausalLMShape = field(default_factory=CausalLMShape)
    batch_size: int = 8
    lr: float = 3e-3
    threads: int = 2
    held_out_every: int = HELD_OUT_EVERY
    corpus: Path = FORTUNES_DIR
    collections: tuple[str, ...] | None = None  # None: every collection in `corpus`
    norm_init: float = 0.02  # every RMSNorm gain's starting value (see the docstring)
    norm_lr_scale: float = 1.0  # the RMSNorm gains' learning rate as a share of `lr`


@dataclass(frozen=True)
class DemoLMReport:
    """How the demo LM was made and how well it predicts held-out entries."""

    folder: str
    parameters: int
    vocab_size: int
    shape: dict[str, int]
    train_entries: int
    held_out_entries: int
    train_tokens: int
    held_out_tokens: int  # tokens whose prediction the perplexity averages
    steps: int
    seed: int
    threads: int
    norm_init: float
    norm_lr_scale: float
    first_loss: float
    final_loss: float
    held_out_perplexity: float
    tokenizer_seconds: float
    train_seconds: float


def build_demo_lm(
    folder: str | Path,
    steps: int = DEMO_LM_STEPS,
    seed: int = 0,
    options: DemoLMOptions = DemoLMOptions(),
    on_step: StepCallback | None = None,
) -> DemoLMReport:
    """Train the tokenizer and the LM, save both into `folder`, report held-out perplexity."""
    split = split_entries(
        read_fortunes(options.corpus, options.collections), options.held_out_every
    )
    started = time.perf_counter()
    tokenizer = train_byte_bpe(split.train, options.vocab_size)
    tokenizer_seconds = time.perf_counter() - started
    train_tokens = token_stream(split.train, tokenizer)
    held_out_tokens = token_stream(split.held_out, tokenizer)
    for stream in (train_tokens, held_out_tokens):  # before minutes of training, not after
        check_token_stream(stream, options.shape.context)
    config = llama_config(len(tokenizer), options.shape, pad_token_id=tokenizer.eos_token_id)
    model = build_causal_lm(config, seed, options.norm_init)
    params = LMTrainParams(
        steps=steps,
        batch_size=options.batch_size,
        lr=options.lr,
        norm_lr_scale=options.norm_lr_scale,
    )
    with intra_op_threads(options.threads) as threads:
        trained = train_causal_lm(
            model,
            train_tokens,
            context=options.shape.context,
            params=params,
            seed=seed,
            on_step=on_step,
        )
        perplexity, predicted = block_perplexity(model, held_out_tokens, options.shape.context)
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    save_tokenizer(tokenizer, path)
    report = DemoLMReport(
        folder=str(path),
        parameters=sum(p.numel() for p in model.parameters()),
        vocab_size=len(tokenizer),
        shape=options.shape.as_dict(),
        train_entries=len(split.train),
        held_out_entries=len(split.held_out),
        train_tokens=len(train_tokens),
        held_out_tokens=predicted,
        steps=trained.steps,
        seed=seed,
        threads=threads,
        norm_init=options.norm_init,
        norm_lr_scale=options.norm_lr_scale,
        first_loss=trained.first_loss,
        final_loss=trained.final_loss,
        held_out_perplexity=perplexity,
        tokenizer_seconds=tokenizer_seconds,
        train_seconds=trained.seconds,
    )
    (path / REPORT_FILE).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def add_demo_lm(
    ws: Workspace, folder: str | Path, name: str = DEMO_LM_NAME, tags: Iterable[str] = ()
) -> ModelInfo:
    """Register a demo LM folder in a workspace as a causal-LM root (kept if already there)."""
    return ws.add_hf_model(folder, name=name, task="causal-lm", tags=tags)


DEMO_HELD_OUT_NAME = "lm-held-out"


def add_demo_held_out(
    ws: Workspace,
    folder: str | Path,
    name: str = DEMO_HELD_OUT_NAME,
    options: DemoLMOptions = DemoLMOptions(),
) -> DatasetInfo:
    """Register the demo LM's held-out entries (the split it never trained on) as the token
    dataset its models are evaluated and compared on, encoded by the folder's tokenizer."""
    split = split_entries(
        read_fortunes(options.corpus, options.collections), options.held_out_every
    )
    return ws.add_token_corpus(
        name,
        list(split.held_out),
        tokenizer=folder,
        description=f"held-out fortunes entries (every {options.held_out_every}th) of the demo LM",
    )


DEMO_CALIBRATION_NAME = "lm-calibration"
CALIBRATION_ENTRIES = 400  # training entries (29,301 tokens): Wanda's 4 × 8 windows of 128 fit


def add_demo_calibration(
    ws: Workspace,
    folder: str | Path,
    name: str = DEMO_CALIBRATION_NAME,
    entries: int = CALIBRATION_ENTRIES,
    options: DemoLMOptions = DemoLMOptions(),
) -> DatasetInfo:
    """Register the first training entries as the token dataset Wanda calibrates on: its
    activation norms must not come from the held-out text the models are judged on."""
    split = split_entries(
        read_fortunes(options.corpus, options.collections), options.held_out_every
    )
    return ws.add_token_corpus(
        name,
        list(split.train[:entries]),
        tokenizer=folder,
        description=f"the first {entries} training fortunes entries (calibration)",
    )


def read_matching_report(
    folder: str | Path, steps: int, seed: int, options: DemoLMOptions
) -> DemoLMReport | None:
    """The folder's training report if the folder holds a model made with these settings."""
    path = Path(folder)
    try:
        report = DemoLMReport(**json.loads((path / REPORT_FILE).read_text()))
    except (OSError, ValueError, TypeError):  # missing, unreadable, or an older report
        return None
    made = (report.steps, report.seed, report.vocab_size, report.shape, report.norm_init)
    wanted = (steps, seed, options.vocab_size, options.shape.as_dict(), options.norm_init)
    if made != wanted or report.norm_lr_scale != options.norm_lr_scale:
        return None
    if not (path / "model.safetensors").is_file():
        return None
    return report


def ensure_demo_lm(
    folder: str | Path,
    steps: int = DEMO_LM_STEPS,
    seed: int = 0,
    options: DemoLMOptions = DemoLMOptions(),
    on_step: StepCallback | None = None,
) -> DemoLMReport:
    """`build_demo_lm`, unless `folder` already holds a model made with the same settings."""
    report = read_matching_report(folder, steps, seed, options)
    if report is not None:
        return report
    return build_demo_lm(folder, steps, seed, options, on_step)
