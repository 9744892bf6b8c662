"""Token datasets: one stream [sep] e₀ [sep] e₁ …, an instance per predicted token, with the
entry and position of that token, and the decoded vocabulary as class names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import compresslens as cl
import lm_corpus
from compresslens.data.token_corpus import token_corpus
from compresslens.errors import DataFormatError

pytest.importorskip("transformers", reason="tokenizers come from transformers")


@pytest.fixture(scope="module")
def corpus_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lm_corpus.save_corpus_lm(tmp_path_factory.mktemp("corpus-lm"))


def test_token_corpus_puts_a_separator_before_every_entry_and_shifts_labels_by_one() -> None:
    corpus = token_corpus([[5, 6], [7]], separator_id=0)

    assert corpus.inputs.tolist() == [0, 5, 6, 0, 7]
    assert corpus.labels.tolist() == [5, 6, 0, 7, 0]
    assert corpus.entry.tolist() == [0, 0, 0, 1, 1]
    assert corpus.position.tolist() == [0, 1, 2, 0, 1]


def test_a_token_dataset_of_ready_ids_keeps_the_contract(workspace: cl.Workspace) -> None:
    corpus = token_corpus([[1, 2, 3], [4]], separator_id=0)
    info = workspace.add_dataset(
        "ids",
        corpus.inputs,
        corpus.labels,
        class_names=["<s>", "a", "b", "c", "d"],
        attributes=corpus.attributes,
        modality="tokens",
    )

    arrays = workspace.load_dataset(info)
    assert (info.modality, info.num_instances, info.num_classes) == ("tokens", 6, 5)
    assert arrays.inputs.tolist() == [0, 1, 2, 3, 0, 4]
    assert sorted(arrays.attributes) == ["entry", "position"]
    assert workspace.render_instance(info, 2) == "abc"  # entry 0 up to the predicted token
    assert workspace.render_instance(info, 4) == "d"


def test_labels_that_are_not_the_shifted_inputs_are_refused(workspace: cl.Workspace) -> None:
    with pytest.raises(DataFormatError, match="shifted by one"):
        workspace.add_dataset(
            "bad", torch.tensor([0, 1, 2]), torch.tensor([1, 3, 0]), modality="tokens"
        )


def test_windows_instead_of_one_stream_are_refused(workspace: cl.Workspace) -> None:
    with pytest.raises(DataFormatError, match="one token stream"):
        workspace.add_dataset(
            "bad",
            torch.zeros(3, 4, dtype=torch.int64),
            torch.zeros(3, dtype=torch.int64),
            modality="tokens",
        )


def test_add_token_corpus_encodes_entries_and_the_text_comes_back_from_class_names(
    workspace: cl.Workspace, corpus_lm: Path
) -> None:
    info = workspace.add_token_corpus("held", lm_corpus.ENTRIES[:2], tokenizer=corpus_lm)

    arrays = workspace.load_dataset(info)
    entry = arrays.attributes["entry"]
    first_entry = arrays.labels[entry == 0].tolist()
    assert info.modality == "tokens" and info.num_classes == 300
    assert arrays.inputs[0] == first_entry[-1] == 0  # <|endoftext|> before and after
    assert "".join(info.class_names[t] for t in first_entry[:-1]) == lm_corpus.ENTRIES[0]
    assert arrays.attributes["position"][entry == 1][0] == 0
    last = int(np.flatnonzero(entry == 1)[-1])
    assert workspace.render_instance(info, last) == lm_corpus.ENTRIES[1] + "<|endoftext|>"


def test_the_same_corpus_again_is_the_same_dataset(
    workspace: cl.Workspace, corpus_lm: Path
) -> None:
    first = workspace.add_token_corpus("held", lm_corpus.ENTRIES, tokenizer=corpus_lm)
    again = workspace.add_token_corpus("held", lm_corpus.ENTRIES, tokenizer=corpus_lm)

    assert again.id == first.id


def test_a_separator_the_tokenizer_lacks_is_refused(
    workspace: cl.Workspace, corpus_lm: Path
) -> None:
    with pytest.raises(DataFormatError, match="not one token"):
        workspace.add_token_corpus(
            "held", lm_corpus.ENTRIES, tokenizer=corpus_lm, separator="<|no such token|>"
        )


def test_no_entries_are_refused(workspace: cl.Workspace, corpus_lm: Path) -> None:
    with pytest.raises(DataFormatError, match="non-empty list of strings"):
        workspace.add_token_corpus("held", [], tokenizer=corpus_lm)
