"""Causal LMs evaluated on token datasets through the Workspace: per-token outputs, stored
compact outputs, and the comparison with the lineage root on identical tokens (KLD and
same-top against a full-logit computation, the direction split on a planted change)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import compresslens as cl
from compresslens.analysis.token_divergence import token_kld_full
from compresslens.errors import IncompatibleDatasetError, InvalidInputError

pytest.importorskip("transformers", reason="causal LMs come from transformers")

VOCAB = 64
NAMES = [f"t{i}" for i in range(VOCAB)]


def add_stream(ws: cl.Workspace, name: str, ids: torch.Tensor) -> cl.DatasetInfo:
    length = int(ids.shape[0]) - 1
    return ws.add_dataset(
        name,
        ids[:-1],
        ids[1:],
        class_names=NAMES,
        attributes={"entry": np.zeros(length, dtype=np.int64), "position": np.arange(length)},
        modality="tokens",
    )


def logits_of(ws: cl.Workspace, model: str, ids: torch.Tensor) -> torch.Tensor:
    """Full logits [T, V] predicting s[1..] from one forward over the whole stream."""
    with torch.no_grad():
        return ws.load_model(model)(input_ids=ids[None]).logits[0, :-1]


def greedy_stream(module: torch.nn.Module, length: int) -> torch.Tensor:
    """s[0] = 1, then each token the model's top-1 after the ones before: the base is right
    on every token of it."""
    ids = [1]
    with torch.no_grad():
        while len(ids) < length:
            logits = module(input_ids=torch.tensor([ids])).logits[0, -1]
            ids.append(int(logits.argmax()))
    return torch.tensor(ids)


@pytest.fixture
def lm_workspace(workspace: cl.Workspace, tiny_llama_folder: Path) -> cl.Workspace:
    workspace.add_hf_model(tiny_llama_folder, name="base", task="causal-lm")
    ids = torch.randint(0, VOCAB, (32,), generator=torch.Generator().manual_seed(0))
    add_stream(workspace, "held", ids)
    return workspace


@pytest.fixture
def pruned_lm(lm_workspace: cl.Workspace) -> cl.Workspace:
    lm_workspace.compress("base", "prune.magnitude", name="pruned", amount=0.5, threads=1)
    lm_workspace.evaluate("pruned", "held", latency=False)
    return lm_workspace


def test_an_lm_gets_token_metrics_and_keeps_no_full_logits_by_default(
    lm_workspace: cl.Workspace,
) -> None:
    evaluation = lm_workspace.evaluate("base", "held", latency=False)

    metrics = lm_workspace.model("base").metrics["held"]
    outputs = lm_workspace.outputs("base", "held")
    assert not evaluation.has_logits
    assert outputs["label"].size == 31
    assert metrics["perplexity"] == pytest.approx(np.exp(outputs["loss"].astype(float).mean()))
    assert metrics["token_accuracy"] == metrics["accuracy"]
    assert evaluation.metrics["token_outputs"] == {"window": 32, "stride": 16, "k": 32}


def test_the_compact_outputs_of_an_evaluation_are_kept_and_read_back(
    lm_workspace: cl.Workspace,
) -> None:
    lm_workspace.evaluate("base", "held", latency=False)
    ids = torch.cat(
        [lm_workspace.load_dataset("held").inputs[:1], lm_workspace.load_dataset("held").labels]
    )
    log_p = torch.log_softmax(logits_of(lm_workspace, "base", ids).double(), dim=1)

    compact = lm_workspace.token_outputs("base", "held")
    assert (compact.tokens, compact.k, compact.vocab_size) == (31, 32, VOCAB)
    assert compact.top_ids[:, 0].tolist() == log_p.argmax(dim=1).tolist()
    expected = log_p.gather(1, torch.from_numpy(compact.top_ids).long())
    np.testing.assert_allclose(compact.top_logprobs, expected.numpy(), atol=1e-5)


def test_logits_true_keeps_the_full_logits_per_token(lm_workspace: cl.Workspace) -> None:
    lm_workspace.evaluate("base", "held", latency=False, logits=True)

    assert tuple(lm_workspace.logits("base", "held").shape) == (31, VOCAB)


def test_a_derived_lm_is_compared_with_its_root_as_metrics_on_the_dataset(
    pruned_lm: cl.Workspace,
) -> None:
    metrics = pruned_lm.model("pruned").metrics["held"]
    summary = pruned_lm.token_comparison("base", "pruned", "held")

    assert metrics["kld_mean"] == pytest.approx(summary["kld"]["mean"])
    assert metrics["kld_p999"] == pytest.approx(summary["kld"]["p99.9"])
    assert metrics["same_top"] == pytest.approx(summary["same_top_rate"])
    assert metrics["correct_to_incorrect"] == summary["correct_to_incorrect"]["count"]
    assert summary["base"]["name"] == "base" and summary["tokens"] == 31
    assert "kld_mean" not in pruned_lm.model("base").metrics.get("held", {})


def test_compact_kld_bounds_the_full_kld_per_token_and_equals_it_when_k_is_the_vocabulary(
    pruned_lm: cl.Workspace,
) -> None:
    ids = torch.cat(
        [pruned_lm.load_dataset("held").inputs[:1], pruned_lm.load_dataset("held").labels]
    )
    full = token_kld_full(logits_of(pruned_lm, "base", ids), logits_of(pruned_lm, "pruned", ids))

    top32 = pruned_lm.token_differences("base", "pruned", "held")["kld"]
    every = pruned_lm.token_differences("base", "pruned", "held", k=VOCAB)["kld"]
    assert full.min() > 0
    assert np.all(top32 <= full + 1e-6)
    np.testing.assert_allclose(every, full, atol=1e-5)
    mass = pruned_lm.token_comparison("base", "pruned", "held", k=VOCAB)["base_top_k_mass"]
    assert mass == pytest.approx(1.0, abs=1e-5)
    assert pruned_lm.token_comparison("base", "pruned", "held")["base_top_k_mass"] < mass


def test_same_top_is_whether_both_full_logits_have_the_same_argmax(
    pruned_lm: cl.Workspace,
) -> None:
    ids = torch.cat(
        [pruned_lm.load_dataset("held").inputs[:1], pruned_lm.load_dataset("held").labels]
    )
    base, model = logits_of(pruned_lm, "base", ids), logits_of(pruned_lm, "pruned", ids)

    arrays = pruned_lm.token_differences("base", "pruned", "held")
    expected = (base.argmax(dim=1) == model.argmax(dim=1)).numpy()
    assert arrays["same_top"].astype(bool).tolist() == expected.tolist()
    assert arrays["model_top1"].tolist() == model.argmax(dim=1).tolist()


def test_swapped_output_rows_flip_exactly_the_tokens_the_base_predicted_as_either(
    workspace: cl.Workspace, tiny_llama_folder: Path
) -> None:
    base = workspace.add_hf_model(tiny_llama_folder, name="base", task="causal-lm")
    module = workspace.load_model(base)
    ids = greedy_stream(module, 32)
    add_stream(workspace, "greedy", ids)
    swapped, unseen = Counter(ids[1:].tolist()).most_common(1)[0][0], 0
    while unseen in ids.tolist():
        unseen += 1
    state = {k: v.clone() for k, v in module.state_dict().items()}
    state["lm_head.weight"][[swapped, unseen]] = state["lm_head.weight"][[unseen, swapped]]
    workspace.log_model(
        "swapped", parents=[base], operation={"name": "train.finetune"}, weights=state
    )

    workspace.evaluate("swapped", "greedy", latency=False)
    metrics = workspace.model("swapped").metrics["greedy"]
    flips = workspace.token_differences("base", "swapped", "greedy")["flip"]
    reverse = workspace.token_comparison("swapped", "base", "greedy")

    planted = ids[1:].numpy() == swapped
    assert metrics["correct_to_incorrect"] == planted.sum() > 0
    assert metrics["incorrect_to_correct"] == 0
    assert metrics["same_top"] == pytest.approx(1 - planted.mean())
    assert np.array_equal(flips == 1, planted)
    assert reverse["incorrect_to_correct"]["count"] == planted.sum()
    assert reverse["correct_to_incorrect"]["count"] == 0


def test_gpt2_with_conv1d_projections_is_evaluated_as_well(
    workspace: cl.Workspace, tiny_gpt2_folder: Path
) -> None:
    workspace.add_hf_model(tiny_gpt2_folder, name="gpt2", task="causal-lm")
    ids = torch.randint(0, VOCAB, (20,), generator=torch.Generator().manual_seed(3))
    add_stream(workspace, "held", ids)

    workspace.evaluate("gpt2", "held", latency=False)

    with torch.no_grad():
        logits = workspace.load_model("gpt2")(input_ids=ids[None]).logits[0, :-1].double()
    expected = torch.nn.functional.cross_entropy(logits, ids[1:]).item()
    assert workspace.model("gpt2").metrics["held"]["mean_loss"] == pytest.approx(expected, 1e-5)


def test_a_model_that_is_no_lm_is_refused_on_a_token_dataset(
    digits_workspace: cl.Workspace,
) -> None:
    add_stream(digits_workspace, "held", torch.arange(20) % VOCAB)

    with pytest.raises(IncompatibleDatasetError, match="only a causal language model"):
        digits_workspace.evaluate("mlp", "held", latency=False)


def test_an_lm_is_refused_on_an_image_dataset(
    digits_workspace: cl.Workspace, tiny_llama_folder: Path
) -> None:
    digits_workspace.add_hf_model(tiny_llama_folder, name="base", task="causal-lm")

    with pytest.raises(IncompatibleDatasetError, match="evaluate it on a token dataset"):
        digits_workspace.evaluate("base", "digits", latency=False)


def test_a_token_dataset_of_another_vocabulary_is_refused(lm_workspace: cl.Workspace) -> None:
    ids = torch.randint(0, VOCAB, (20,), generator=torch.Generator().manual_seed(4))
    lm_workspace.add_dataset(
        "other", ids[:-1], ids[1:], class_names=[f"w{i}" for i in range(100)], modality="tokens"
    )

    with pytest.raises(IncompatibleDatasetError, match="vocabulary has 64 tokens"):
        lm_workspace.evaluate("base", "other", latency=False)


def test_features_are_refused_on_a_token_dataset(lm_workspace: cl.Workspace) -> None:
    with pytest.raises(InvalidInputError, match="features"):
        lm_workspace.evaluate("base", "held", latency=False, features=True)
