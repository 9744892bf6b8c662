"""Language models without Python: add-corpus registers held-out text as a token dataset;
evaluate runs an LM on it; tokens prints the comparison with the base on identical tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import fails, succeeds

import compresslens as cl
import lm_corpus

pytest.importorskip("transformers", reason="causal LMs come from transformers")


@pytest.fixture(scope="module")
def corpus_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lm_corpus.save_corpus_lm(tmp_path_factory.mktemp("corpus-lm"))


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "held-out.txt"
    path.write_text("\n%\n".join(lm_corpus.ENTRIES) + "\n")
    return path


def test_add_corpus_registers_one_instance_per_predicted_token(
    workspace: cl.Workspace, corpus_lm: Path, text_file: Path
) -> None:
    output = succeeds(
        "add-corpus", "held", "--text-file", str(text_file), "--tokenizer", str(corpus_lm),
        "-w", workspace.location, "--json",
    )  # fmt: skip

    document = json.loads(output)
    info = workspace.dataset("held")
    assert document["modality"] == info.modality == "tokens"
    assert document["entries"] == len(lm_corpus.ENTRIES)
    assert document["tokens"] == info.num_instances
    assert document["vocabulary"] == 300


def test_add_corpus_without_a_source_is_refused(workspace: cl.Workspace, corpus_lm: Path) -> None:
    message = fails("add-corpus", "held", "--tokenizer", str(corpus_lm), "-w", workspace.location)

    assert "--text-file FILE or --fortunes" in message


def test_tokens_prints_the_kld_table_and_the_direction_of_change(
    workspace: cl.Workspace, corpus_lm: Path, text_file: Path
) -> None:
    workspace.add_hf_model(corpus_lm, name="base", task="causal-lm")
    workspace.compress("base", "prune.magnitude", name="pruned", amount=0.5, threads=1)
    location = workspace.location
    source = ["--text-file", str(text_file), "--tokenizer", str(corpus_lm)]
    succeeds("add-corpus", "held", *source, "-w", location)
    pair = ["tokens", "base", "pruned", "-d", "held", "-w", location]

    evaluated = succeeds("evaluate", "pruned", "-d", "held", "-w", location, "--no-latency")
    table = succeeds(*pair)
    document = json.loads(succeeds(*pair, "--json"))

    assert "perplexity" in evaluated
    assert "Mean    KLD" in table and "Same top p" in table
    assert "correct→incorrect" in table and "[0.00, 0.05)" in table
    assert document["tokens"] == workspace.dataset("held").num_instances
    assert document["kld"]["mean"] > 0
    assert set(document) >= {
        "base", "model", "dataset", "window", "stride", "k", "kld", "same_top_rate", "delta_p",
        "correct_to_incorrect", "incorrect_to_correct", "flips_by_base_margin",
    }  # fmt: skip


def test_tokens_on_a_dataset_that_is_not_of_tokens_is_refused(
    digits_workspace: cl.Workspace, corpus_lm: Path
) -> None:
    digits_workspace.add_hf_model(corpus_lm, name="base", task="causal-lm")

    message = fails("tokens", "base", "base", "-d", "digits", "-w", digits_workspace.location)

    assert "only a causal language model" not in message
    assert "token dataset" in message
