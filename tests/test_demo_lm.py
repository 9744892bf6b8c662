"""The demo LM folder: tokenizer + safetensors that transformers and a Workspace load back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import compresslens as cl
from compresslens.errors import FactoryError, IncompatibleDatasetError

transformers = pytest.importorskip("transformers", reason="the demo LM is a transformers model")

from compresslens.demo_lm import (  # noqa: E402
    REPORT_FILE,
    DemoLMOptions,
    DemoLMReport,
    add_demo_lm,
    build_demo_lm,
)
from compresslens.models.causal_lm import (  # noqa: E402
    CausalLMShape,
    build_causal_lm,
    llama_config,
    norm_gains,
)
from compresslens.ops.lm_training import LMTrainParams, train_causal_lm  # noqa: E402

SENTENCES = [
    "The early bird catches the worm.",
    "A penny saved is a penny earned.",
    "Never put off until tomorrow what you can do today.",
    "Whatever can go wrong will go wrong.",
    "If at first you do not succeed, try, try again.",
]


def tiny_options(folder: Path) -> DemoLMOptions:
    """A 2-layer, width-32 LM on the 60 proverbs written next to `folder`."""
    return DemoLMOptions(
        vocab_size=300,
        shape=CausalLMShape(layers=2, width=32, heads=2, context=32, mlp_width=64),
        batch_size=4,
        threads=1,
        held_out_every=6,
        corpus=folder.parent / "fortunes",
    )


@pytest.fixture(scope="module")
def tiny_lm_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoLMReport]:
    root = tmp_path_factory.mktemp("lm")
    (root / "fortunes").mkdir()
    entries = [f"{SENTENCES[i % 5]}\n\t-- Proverb {i % 7}" for i in range(60)]
    (root / "fortunes" / "proverbs").write_text("\n%\n".join(entries) + "\n%\n")
    folder = root / "demo-lm"
    return folder, build_demo_lm(folder, steps=30, seed=0, options=tiny_options(folder))


def test_the_report_states_the_split_the_training_and_held_out_perplexity(
    tiny_lm_folder: tuple[Path, DemoLMReport],
) -> None:
    folder, report = tiny_lm_folder
    assert (report.train_entries, report.held_out_entries) == (50, 10)
    assert report.final_loss < report.first_loss
    assert 1.0 < report.held_out_perplexity < report.vocab_size
    assert report.threads == 1 and report.steps == 30 and report.vocab_size == 300
    assert (report.norm_init, report.norm_lr_scale) == (
        DemoLMOptions().norm_init,
        DemoLMOptions().norm_lr_scale,
    )
    assert json.loads((folder / REPORT_FILE).read_text())["held_out_perplexity"] == (
        report.held_out_perplexity
    )


def test_the_folder_reloads_with_auto_classes_and_gives_identical_logits(
    tiny_lm_folder: tuple[Path, DemoLMReport],
) -> None:
    folder, _ = tiny_lm_folder
    assert (folder / "model.safetensors").is_file()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    again = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    ids = tokenizer("A penny saved is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, again(input_ids=ids).logits)
    assert tokenizer.decode(ids[0]) == "A penny saved is"


def test_the_same_seed_builds_a_bit_identical_model(
    tiny_lm_folder: tuple[Path, DemoLMReport], tmp_path: Path
) -> None:
    folder, report = tiny_lm_folder
    again = build_demo_lm(tmp_path / "again", steps=30, seed=0, options=tiny_options(folder))
    assert again.held_out_perplexity == report.held_out_perplexity
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (
        folder / "model.safetensors"
    ).read_bytes()


def test_a_workspace_registers_the_folder_as_a_causal_lm_and_loads_it_back(
    tiny_lm_folder: tuple[Path, DemoLMReport], workspace: cl.Workspace
) -> None:
    folder, _ = tiny_lm_folder
    info = add_demo_lm(workspace, folder, name="lm-base")
    assert info.factory == "compresslens.models.hf:from_config"
    assert info.factory_kwargs["task"] == "causal-lm"
    original = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    loaded = workspace.load_model("lm-base")
    ids = torch.tensor([[5, 17, 42, 99, 3]])
    with torch.no_grad():
        assert torch.equal(loaded(input_ids=ids).logits, original(input_ids=ids).logits)
    assert add_demo_lm(workspace, folder, name="lm-base").id == info.id  # kept, not duplicated


def test_a_held_out_split_too_short_to_measure_is_refused_before_training(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo-lm"
    (tmp_path / "fortunes").mkdir()
    (tmp_path / "fortunes" / "few").write_text("\n%\n".join(SENTENCES * 2) + "\n%\n")
    steps: list[int] = []
    with pytest.raises(IncompatibleDatasetError, match="too short for windows of 32"):
        build_demo_lm(
            folder, steps=30, options=tiny_options(folder), on_step=lambda s, *_: steps.append(s)
        )
    assert steps == [] and not folder.exists()


# ------------------------------------------------------------ norm gains (the case study)

TINY_SHAPE = CausalLMShape(layers=2, width=32, heads=2, context=16, mlp_width=64)
CYCLE = torch.tensor([3, 7, 1, 9, 4, 4, 2, 8, 5, 6, 0, 11] * 40, dtype=torch.int64)


def test_norm_init_sets_every_rmsnorm_gain_and_no_other_weight() -> None:
    config = llama_config(40, TINY_SHAPE)
    default, small = build_causal_lm(config, 0), build_causal_lm(config, 0, norm_init=0.02)
    gains = norm_gains(small)
    assert len(gains) == 2 * 2 + 1  # two per block and the final norm
    assert all(torch.equal(gain, torch.full_like(gain, 0.02)) for gain in gains.values())
    assert all(torch.equal(gain, torch.ones_like(gain)) for gain in norm_gains(default).values())
    kept = {f"{name}.weight" for name in gains}
    expected = default.state_dict()
    for name, value in small.state_dict().items():
        if name not in kept:
            assert torch.equal(value, expected[name]), name


@pytest.mark.parametrize("norm_init", [0.0, -0.5, float("nan"), float("inf")])
def test_a_norm_init_that_is_not_positive_and_finite_is_refused(norm_init: float) -> None:
    with pytest.raises(FactoryError, match="norm gain must start positive"):
        build_causal_lm(llama_config(40, TINY_SHAPE), 0, norm_init=norm_init)


def test_norm_lr_scale_zero_trains_every_weight_but_the_norm_gains() -> None:
    model = build_causal_lm(llama_config(40, TINY_SHAPE), 0, norm_init=0.02)
    head = model.lm_head.weight.detach().clone()
    params = LMTrainParams(steps=5, batch_size=4, lr=1e-2, norm_lr_scale=0.0)
    train_causal_lm(model, CYCLE, context=TINY_SHAPE.context, params=params, seed=0)
    assert all(torch.equal(g, torch.full_like(g, 0.02)) for g in norm_gains(model).values())
    assert not torch.equal(model.lm_head.weight, head)


def test_a_smaller_norm_lr_scale_moves_the_gains_less() -> None:
    moved = []
    for scale in (1.0, 0.1):
        model = build_causal_lm(llama_config(40, TINY_SHAPE), 0, norm_init=0.02)
        params = LMTrainParams(steps=10, batch_size=4, lr=1e-2, norm_lr_scale=scale)
        train_causal_lm(model, CYCLE, context=TINY_SHAPE.context, params=params, seed=0)
        moved.append(
            max(float((g.detach() - 0.02).abs().max()) for g in norm_gains(model).values())
        )
    assert moved[1] < moved[0] / 5


def test_a_negative_norm_lr_scale_is_refused() -> None:
    model = build_causal_lm(llama_config(40, TINY_SHAPE), 0)
    params = LMTrainParams(steps=5, batch_size=4, norm_lr_scale=-1.0)
    with pytest.raises(IncompatibleDatasetError, match="norm_lr_scale not negative"):
        train_causal_lm(model, CYCLE, context=TINY_SHAPE.context, params=params)
